"""Safety triage in French.

Urgent messages are caught without Rasa; idioms and ordinary questions (an expired
passport, detention alone) are not."""

from __future__ import annotations

import pytest

from bot.safety import load_patterns, triage


@pytest.mark.parametrize(
    "text",
    [
        "je veux me suicider",
        "je ne veux plus vivre",
        "mon mari me bat tous les soirs",
        "j ai ete violee",
        "mon patron garde mon passeport et me force a travailler",
        "on me force a me prostituer",
        "je suis en danger aidez moi",
        "il me menace de mort",
        "mon bebe ne respire plus",
        "JE VEUX MOURIR",
        "j’ai été agressée dans la rue",
        "je veux pas vivre",
    ],
)
def test_urgent_fr_messages_are_caught(text: str) -> None:
    assert triage(text).urgent


@pytest.mark.parametrize(
    "text",
    [
        "mon passeport est mort",
        "je meurs d'envie de rentrer chez moi",
        "je suis en retention a rotterdam je veux rentrer",
        "document de voyage d urgence",
        "je suis victime de traite et je veux rentrer",
        "la police a mon passeport",
        "mes donnees sont en securite",
        "on m a enferme au centre de detention",
        "je veux rentrer au pays",
        "non je veux pas",
    ],
)
def test_ordinary_fr_messages_are_not_flagged(text: str) -> None:
    assert not triage(text).urgent


def test_fr_pattern_file_exists_and_compiles() -> None:
    assert load_patterns()["fr"].pattern

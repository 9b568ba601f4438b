"""Safety triage works without Rasa, in every language with patterns, and is not trigger-happy."""

from __future__ import annotations

import pytest

from bot.safety import load_patterns, triage


@pytest.mark.parametrize(
    "text",
    [
        "please help he beats me every night",
        "he is hitting me, help",
        "I want to kill myself",
        "they took my passport and force me to work, forced to work every day",
        "mijn man slaat me",
        "ik wil niet meer leven",
        "IK WIL   NIET MEER LEVEN",
    ],
)
def test_urgent_messages_are_caught(text: str) -> None:
    assert triage(text).urgent


@pytest.mark.parametrize(
    "text",
    [
        "how can i go back to my country",
        "my passport is dead",  # expired, not danger
        "ik zit in detentie, kan ik terug",
        "can I get an emergency travel document",
        "hoe lang duurt het",
    ],
)
def test_ordinary_questions_are_not_flagged(text: str) -> None:
    assert not triage(text).urgent


def test_every_pattern_file_compiles_and_has_patterns() -> None:
    compiled = load_patterns()
    assert {"en", "nl"} <= set(compiled)
    for lang, pattern in compiled.items():
        assert pattern.pattern, lang


def test_arabic_vowel_marks_and_stretching_do_not_hide_danger() -> None:
    from bot.safety import normalise

    assert normalise("بدّي") == "بدي"
    assert normalise("مـــساعدة") == "مساعدة"

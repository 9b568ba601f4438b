from __future__ import annotations

import pytest

from bot.keywords import Keyword, choice, keyword


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("STOP", Keyword.STOP),
        (" stop. ", Keyword.STOP),
        ("Afmelden", Keyword.STOP),
        ("ARRÊT", Keyword.STOP),
        ("стоп", Keyword.STOP),
        ("توقف", Keyword.STOP),
        ("start", Keyword.START),
        ("HELP", Keyword.HELP),
        ("hulp", Keyword.HELP),
        ("please stop sending", None),
        ("stop the deportation", None),
        ("", None),
    ],
)
def test_keywords_match_the_whole_message_only(text: str, expected: Keyword | None) -> None:
    assert keyword(text) == expected


def test_numbered_answers_map_to_the_offered_payloads() -> None:
    payloads = ["/return_info", "/family_reunification", "/request_human"]
    assert choice("2", payloads) == "/family_reunification"
    assert choice(" 3. ", payloads) == "/request_human"
    assert choice("4", payloads) is None
    assert choice("0", payloads) is None
    assert choice("2", []) is None
    assert choice("I am 2 years here", payloads) is None

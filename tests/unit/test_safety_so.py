"""Safety triage in Somali.

Urgent messages are caught without Rasa; idioms and ordinary questions (an expired
passport, detention alone) are not."""

from __future__ import annotations

import pytest

from bot.safety import load_patterns, triage


@pytest.mark.parametrize(
    "text",
    [
        "waxaan rabaa inaan is dilo",
        "ma rabo inaan sii noolaado",
        "ninkayga ayaa i garaaca",
        "waa la i kufsaday",
        "shaqo ayaa la igu qasbay baasaboorkaygiina way qaateen",
        "khatar ayaan ku jiraa",
        "wuu i dilayaa",
        "ilmahaygu ma neefsanayo",
        "waa la ii hanjabay",
        "WAXAAN RABAA INAAN IS DILO",
        "noolaan ma rabo",
    ],
)
def test_urgent_so_messages_are_caught(text: str) -> None:
    assert triage(text).urgent


@pytest.mark.parametrize(
    "text",
    [
        "baasaboorkayga wuu dhacay",
        "waa la i xiray maxaa yeelay warqado ma haysto",
        "xabsi ayaan ku jiraa waxaan rabaa guriga",
        "ma qasab baa in baasaboor la haysto",
        "booliska ayaa haya baasaboorkayga",
        "waxaan rabaa inaan dalkayga ku dhinto",
        "i diiwaan geli laabashada",
        "dit is dilemma voor mij",
        "maya ma rabo",
    ],
)
def test_ordinary_so_messages_are_not_flagged(text: str) -> None:
    assert not triage(text).urgent


def test_so_pattern_file_exists_and_compiles() -> None:
    assert load_patterns()["so"].pattern

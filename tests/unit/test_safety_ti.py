"""Safety triage in Tigrinya (Ge'ez script and Latin transliteration).

Urgent messages are caught without Rasa; idioms and ordinary questions (an expired
passport, detention alone) are not."""

from __future__ import annotations

import pytest

from bot.safety import load_patterns, triage


@pytest.mark.parametrize(
    "text",
    [
        "ነብሰይ ክቐትል እደሊ",
        "ክመውት እደሊ",
        "ሰብኣየይ ይወቕዓኒ",
        "ተዓሚጸ",
        "ብግዲ ከስርሑኒ ፓስፖርተይ ወሲዶም",
        "ኣብ ሓደጋ እየ ዘለኹ",
        "ክቐትለኒ እዩ",
        "ቆልዓይ ኣይተንፍስን ኣሎ",
        "ሓላፊየይ ፓስፖርተይ ሒዙ",
        "kmewt edeli",
        "ክነብር ድሌት የብለይን",
    ],
)
def test_urgent_ti_messages_are_caught(text: str) -> None:
    assert triage(text).urgent


@pytest.mark.parametrize(
    "text",
    [
        "ፓስፖርተይ ሞይቱ",
        "ተኣሲረ ኣለኹ ናብ ዓደይ ክኸይድ እደሊ",
        "ህጹጽ ሰነድ መገሻ",
        "ፖሊስ ፓስፖርተይ ሒዙ ኣሎ",
        "ግዳይ ዘዋውራ ሰባት ነይረ ክምለስ እደሊ",
        "ናብ ዓደይ ክምለስ እደሊ",
        "selam kemey aleka",
        "ኣይፋል ኣይደልን",
    ],
)
def test_ordinary_ti_messages_are_not_flagged(text: str) -> None:
    assert not triage(text).urgent


def test_ti_pattern_file_exists_and_compiles() -> None:
    assert load_patterns()["ti"].pattern

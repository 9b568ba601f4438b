"""Safety triage in Russian (with Ukrainian and transliteration).

Urgent messages are caught without Rasa; idioms and ordinary questions (an expired
passport, detention alone) are not."""

from __future__ import annotations

import pytest

from bot.safety import load_patterns, triage


@pytest.mark.parametrize(
    "text",
    [
        "хочу покончить с собой",
        "не хочу больше жить",
        "муж меня бьёт",
        "меня изнасиловали",
        "меня заставляют работать и забрали паспорт",
        "я в опасности",
        "мне угрожают убить",
        "ребёнок не дышит",
        "hochu umeret",
        "мене б'є чоловік",
        "хочу покінчити з собою",
        "ХОЧУ УМЕРЕТЬ",
        "жить не хочу",
    ],
)
def test_urgent_ru_messages_are_caught(text: str) -> None:
    assert triage(text).urgent


@pytest.mark.parametrize(
    "text",
    [
        "паспорт мертвый просрочен",
        "умираю как хочу домой",
        "я в депортационном центре хочу домой",
        "полиция забрала паспорт",
        "я жертва торговли людьми хочу домой",
        "hochu vernutsya domoi",
        "мои данные в безопасности",
        "убить время пока жду ответ",
        "нет не хочу",
    ],
)
def test_ordinary_ru_messages_are_not_flagged(text: str) -> None:
    assert not triage(text).urgent


def test_ru_pattern_file_exists_and_compiles() -> None:
    assert load_patterns()["ru"].pattern

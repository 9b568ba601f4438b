from __future__ import annotations

import pytest

from bot.languages import is_rtl, native_name, parse, picker_buttons

ALL = ["ar", "en", "fa", "fr", "nl", "ru", "so", "ti", "tr"]


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("English please", "en"),
        ("english", "en"),
        ("Nederlands", "nl"),
        ("dutch pls", "nl"),
        ("عربي", "ar"),
        ("Arabisch alsjeblieft", "ar"),
        ("farsi", "fa"),
        ("دری", "fa"),
        ("français", "fr"),
        ("Türkçe", "tr"),
        ("русский", "ru"),
        ("af soomaali", "so"),
        ("ትግርኛ", "ti"),
        ("lang:ti", "ti"),
        ("/lang nl", "nl"),
        ("/taal engels", "en"),
    ],
)
def test_language_names_in_any_language_switch(text: str, code: str) -> None:
    command = parse(text, ALL)
    assert command is not None and command.code == code


@pytest.mark.parametrize("text", ["/lang", "/taal", "lang:xx"])
def test_bare_command_asks_with_the_picker(text: str) -> None:
    command = parse(text, ALL)
    assert command is not None and command.picker and command.code is None


@pytest.mark.parametrize(
    "text",
    ["I want to go back to my country in english", "hello", "ik spreek nederlands en wil terug"],
)
def test_ordinary_messages_are_not_commands(text: str) -> None:
    assert parse(text, ALL) is None


def test_picker_names_languages_in_their_own_script() -> None:
    buttons = picker_buttons(ALL)
    assert [b.title for b in buttons] == [
        "English",
        "Nederlands",
        "العربية",
        "فارسی",
        "ትግርኛ",
        "Soomaali",
        "Français",
        "Türkçe",
        "Русский",
    ]
    assert is_rtl("ar") and is_rtl("fa") and not is_rtl("ti")
    assert native_name("nl") == "Nederlands"


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("بدي ارجع على بلدي", "ar"),
        ("میخواهم برگردم", "fa"),
        ("ክሕግዘኒ ትኽእሉ", "ti"),
        ("хочу вернуться домой", "ru"),
        ("hello", None),
        ("ik wil terug", None),
        ("ok", None),
    ],
)
def test_first_contact_language_is_guessed_from_the_script(text: str, code: str | None) -> None:
    from bot.languages import guess

    assert guess(text, ALL) == code

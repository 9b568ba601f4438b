"""Choosing and changing the conversation's language.

Language names come from babel's locale data: every language is offered in its own script
("العربية", "ትግርኛ"), and a person can switch by writing a language's name in any of our languages
("Arabic", "Arabisch", "عربي", "English please"), by ``/lang`` or ``/lang nl``, or by pressing a
picker button (payload ``lang:<code>``).
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache

from babel import Locale

from bot.messages import Button

# Picker order: the languages most IOM NL clients use first after English and Dutch.
ORDER = ("en", "nl", "ar", "fa", "ti", "so", "fr", "tr", "ru")
# How people also write the names, beyond babel's display names.
ALIASES = {
    "en": {"engels", "inglizi", "انجليزي", "انگلیسی", "ingilizce"},
    "nl": {"dutch", "hollands", "nederlands", "هولندي", "هلندی", "flemish"},
    "ar": {"arabic", "arab", "arabi", "عربي", "عربى", "عربی", "arapça", "arabe"},
    "fa": {"farsi", "persian", "parsi", "dari", "فارسی", "دری", "فارسي", "farsça"},
    "fr": {"french", "francais", "frans", "فرنسي"},
    "tr": {"turkish", "turkce", "turks", "تركي", "ترکی"},
    "ru": {"russian", "russkiy", "russkij", "russisch", "русский язык", "روسي"},
    "so": {"somali", "somalisch", "af soomaali", "afsoomaali", "صومالي"},
    "ti": {"tigrinya", "tigrigna", "tigrinia", "ትግሪኛ"},
}
# Words around a language name that still make the message a request to switch.
FILLER = re.compile(
    r"\b(please|pls|plz|in|language|speak|talk|alsjeblieft|aub|graag|taal|spreek|min fadlak|"
    r"lütfen|lutfen|s'il vous plaît|svp|пожалуйста|fadlan)\b|من فضلك|لطفا|لطفاً|بالله|[.!?،,]"
)


def _norm(text: str) -> str:
    folded = unicodedata.normalize("NFKC", text).casefold().strip()
    return " ".join(folded.split())


def native_name(code: str) -> str:
    name = Locale.parse(code).get_display_name(code) or code
    return name[:1].upper() + name[1:]


def is_rtl(code: str) -> bool:
    return Locale.parse(code).character_order == "right-to-left"


@cache
def _names(available: tuple[str, ...]) -> dict[str, str]:
    """Every way of naming each available language, in each available language → code."""
    names: dict[str, str] = {}
    for code in available:
        names[_norm(code)] = code
        for alias in ALIASES.get(code, ()):
            names[_norm(alias)] = code
        for other in available:
            display = Locale.parse(code).get_display_name(other)
            if display:
                names[_norm(display)] = code
    return names


def ordered(available: list[str]) -> list[str]:
    return [c for c in ORDER if c in available] + sorted(set(available) - set(ORDER))


def picker_buttons(available: list[str]) -> tuple[Button, ...]:
    return tuple(Button(title=native_name(c), payload=f"lang:{c}") for c in ordered(available))


class LanguageCommand:
    """What a message asks for: ``code`` to switch to, or ``picker`` to be shown the choice."""

    def __init__(self, code: str | None = None, picker: bool = False) -> None:
        self.code = code
        self.picker = picker


def parse(text: str, available: list[str]) -> LanguageCommand | None:
    """A language command in this message, or None (the message is about something else)."""
    words = _norm(text)
    names = _names(tuple(sorted(available)))
    if words.startswith("lang:"):
        code = words.removeprefix("lang:")
        return LanguageCommand(code=code) if code in available else LanguageCommand(picker=True)
    if words in ("/lang", "/language", "/taal", "/langue", "/dil"):
        return LanguageCommand(picker=True)
    if words.startswith(("/lang ", "/language ", "/taal ")):
        named = names.get(words.split(" ", 1)[1].strip())
        return LanguageCommand(code=named) if named else LanguageCommand(picker=True)
    stripped = " ".join(FILLER.sub(" ", words).split())
    if stripped and len(stripped) <= 20 and stripped in names:
        return LanguageCommand(code=names[stripped])
    return None


PERSIAN_LETTERS = set("پچژگکی")  # letters Persian writes and Arabic does not


def guess(text: str, available: list[str]) -> str | None:
    """A first guess from the script a message is written in, for a first contact.

    Arabic script is Farsi when Persian letters appear, Arabic otherwise; Ge'ez is Tigrinya and
    Cyrillic Russian. Latin script is left undecided (English, Dutch, French, Turkish, Somali…).
    """
    counts = {"arabic": 0, "geez": 0, "cyrillic": 0}
    for char in text:
        point = ord(char)
        if 0x0600 <= point <= 0x06FF or 0xFB50 <= point <= 0xFEFF:
            counts["arabic"] += 1
        elif 0x1200 <= point <= 0x137F:
            counts["geez"] += 1
        elif 0x0400 <= point <= 0x04FF:
            counts["cyrillic"] += 1
    script = max(counts, key=lambda k: counts[k])
    if counts[script] < 2:
        return None
    if script == "arabic":
        code = "fa" if PERSIAN_LETTERS & set(text) else "ar"
    else:
        code = {"geez": "ti", "cyrillic": "ru"}[script]
    return code if code in available else None

"""SMS keywords, handled before any understanding (design.md §2): the whole message, any case.

Twilio itself answers the English standard words (STOP, START, HELP…) on long codes; we mirror the
opt-out state so that no SMS goes to a person who said stop, in any of our languages.
"""

from __future__ import annotations

import enum
import unicodedata


class Keyword(enum.StrEnum):
    STOP = "stop"
    START = "start"
    HELP = "help"


WORDS: dict[Keyword, set[str]] = {
    Keyword.STOP: {
        "stop",
        "stopall",
        "unsubscribe",
        "cancel",
        "end",
        "quit",
        "revoke",
        "optout",  # Twilio
        "stoppen",
        "afmelden",
        "uitschrijven",  # nl
        "arret",
        "arrêt",
        "desabonner",
        "désabonner",  # fr
        "dur",
        "iptal",  # tr
        "стоп",
        "отписаться",  # ru
        "توقف",
        "الغاء",
        "إلغاء",  # ar
        "لغو",
        "توقف کن",  # fa
        "jooji",  # so
        "ኣቋርጽ",  # ti
    },
    Keyword.START: {"start", "unstop", "yes", "aanmelden", "begin", "démarrer", "başla", "старт"},
    Keyword.HELP: {
        "help",
        "info",
        "hulp",
        "aide",
        "yardım",
        "yardim",
        "помощь",
        "مساعدة",
        "کمک",
        "caawimaad",
        "ሓገዝ",
    },
}


def keyword(text: str) -> Keyword | None:
    word = unicodedata.normalize("NFKC", text).strip().strip(".!").casefold()
    for kind, words in WORDS.items():
        if word in words:
            return kind
    return None


def choice(text: str, payloads: list[str]) -> str | None:
    """A numbered answer ("2") to the last options offered, as that option's payload."""
    word = text.strip().rstrip(".)")
    if word.isdigit() and 1 <= int(word) <= len(payloads):
        return payloads[int(word) - 1]
    return None

"""Safety triage: spots urgent danger before anything else, without Rasa (design.md §6).

Deliberately simple and auditable: phrase patterns per language, one file each in
``bot/safety_patterns/<lang>.txt``, matched on a normalised text.
A miss here is still caught by Rasa's ``urgent_safety`` intent; a false alarm costs a counsellor
a look, so the patterns lean towards recall. Issue 4 extends them to every language.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

PATTERNS_DIR = Path(__file__).resolve().parent / "safety_patterns"


def load_patterns(directory: Path = PATTERNS_DIR) -> dict[str, re.Pattern[str]]:
    """One compiled pattern per language from ``<lang>.txt`` (a regex per line, ``#`` comments)."""
    compiled = {}
    for path in sorted(directory.glob("*.txt")):
        lines = [ln.strip() for ln in path.read_text(encoding="utf-8").splitlines()]
        patterns = [ln for ln in lines if ln and not ln.startswith("#")]
        compiled[path.stem] = re.compile("|".join(f"(?:{p})" for p in patterns))
    return compiled


_COMPILED = load_patterns()


@dataclass(frozen=True)
class Triage:
    urgent: bool
    matched_lang: str | None = None


ARABIC_MARKS = re.compile("[\u064b-\u065f\u0670\u0640]")  # vowel marks and tatweel


def normalise(text: str) -> str:
    """Fold case and width, drop Arabic vowel marks and stretching, collapse spaces."""
    folded = ARABIC_MARKS.sub("", unicodedata.normalize("NFKC", text).casefold())
    return re.sub(r"\s+", " ", folded.replace("’", "'")).strip()


def triage(text: str) -> Triage:
    """Check the text against every language's patterns: people mix languages."""
    clean = normalise(text)
    for lang, pattern in _COMPILED.items():
        if pattern.search(clean):
            return Triage(urgent=True, matched_lang=lang)
    return Triage(urgent=False)

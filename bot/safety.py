"""Safety triage: spots urgent danger before anything else, without Rasa (design.md §6).

Deliberately simple and auditable: phrase patterns per language, matched on a normalised text.
A miss here is still caught by Rasa's ``urgent_safety`` intent; a false alarm costs a counsellor
a look, so the patterns lean towards recall. Issue 4 extends them to every language.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

URGENT_PATTERNS: dict[str, list[str]] = {
    "en": [
        r"\bkill(ing)? my ?self\b",
        r"\bsuicid",
        r"\bwant(ed)? to die\b",
        r"\bend my life\b",
        r"\bhurt(ing)? my ?self\b",
        r"\b(he|she|they) (hit|hits|beat|beats) me\b",
        r"\bbeat(ing|en)? me\b",
        r"\braped?\b",
        r"\bsexual(ly)? assault",
        r"\bforced to work\b",
        r"\btraffick",
        r"\b(took|take|keep) my passport\b",
        r"\bin danger\b",
        r"\bthreaten(ed|ing)? (me|to kill)\b",
        r"\bgoing to kill me\b",
        r"\bcan'?t breathe\b",
        r"\bbleeding\b",
        r"\boverdose\b",
        r"\bmedical emergency\b",
        r"\bit'?s an emergency\b",
    ],
    "nl": [
        r"\bzelfmoord",
        r"\bwil (niet meer leven|dood)\b",
        r"\bmezelf (van kant|iets aan|pijn)",
        r"\beinde aan mijn leven\b",
        r"\b(hij|zij|ze) slaa?t me\b",
        r"\bgeslagen\b",
        r"\bmishandel",
        r"\bverkracht",
        r"\bgedwongen (te )?werken\b",
        r"\bmensenhandel",
        r"\bpaspoort (afgepakt|ingenomen)\b",
        r"\bin gevaar\b",
        r"\bbedreig",
        r"\bvermoorden\b",
        r"\bkan niet ademen\b",
        r"\bik bloed\b",
        r"\bmedisch noodgeval",
        r"\bhet is een noodgeval",
    ],
}

_COMPILED = {
    lang: re.compile("|".join(f"(?:{p})" for p in patterns))
    for lang, patterns in URGENT_PATTERNS.items()
}


@dataclass(frozen=True)
class Triage:
    urgent: bool
    matched_lang: str | None = None


def normalise(text: str) -> str:
    folded = unicodedata.normalize("NFKC", text).casefold()
    return re.sub(r"\s+", " ", folded.replace("’", "'")).strip()


def triage(text: str) -> Triage:
    """Check the text against every language's patterns: people mix languages."""
    clean = normalise(text)
    for lang, pattern in _COMPILED.items():
        if pattern.search(clean):
            return Triage(urgent=True, matched_lang=lang)
    return Triage(urgent=False)

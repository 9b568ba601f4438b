"""Parsing the person's answers to the intake questions (no Rasa, no I/O except babel's data).

Each ``parse_*`` returns the canonical value or ``None`` when the answer cannot be used (the form
then re-asks). Answers may be a button payload (the canonical value itself), a number from the
menu (SMS and WhatsApp show buttons as numbered options; the gateway maps numbers back, but people
also type them), or free text in any of our languages.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
import unicodedata
from functools import lru_cache
from typing import Any

import phonenumbers
from babel import Locale, UnknownLocaleError

SKIP = "skip"
YES = "yes"
NO = "no"

# "Skip" the way people write it in each of our languages (normalised: lowercase, no accents).
SKIP_WORDS = {
    "skip", "skip it", "next", "pass", "no answer", "rather not say", "-",
    "overslaan", "sla over", "volgende", "liever niet",
    "تخطي", "تخطى", "تجاوز", "التالي",
    "رد کردن", "رد کن", "رد", "بعدی",
    "geç", "gec", "atla", "sonraki",
    "passer", "suivant", "passe",
    "пропустить", "пропуск", "дальше",
    "ka bood", "ka gudub", "xiga",
    "ሕለፍ", "ሕለፎ", "ዝቕጽል",
}  # fmt: skip

YES_WORDS = {
    "yes", "y", "yeah", "yea", "yep", "ok", "okay", "sure", "correct", "right", "true",
    "of course", "i agree", "agree", "yes please", "thats right", "that is right",
    "ja", "jazeker", "klopt", "dat klopt", "akkoord", "prima", "goed", "ja hoor", "jawel", "oke",
    "نعم", "ايوه", "أيوه", "ايوا", "اي", "صح", "موافق", "naam", "aywa",
    "بله", "آره", "اره", "درسته", "موافقم", "bale", "are",
    "evet", "tamam", "dogru", "doğru", "kabul",
    "oui", "d accord", "daccord", "exact", "cest ca",
    "да", "ага", "верно", "согласен", "согласна",
    "haa", "haan", "waa sax", "sax", "ogol",
    "እወ", "ሕራይ", "ቅቡል",
}  # fmt: skip

NO_WORDS = {
    "no", "n", "nope", "nah", "not", "wrong", "incorrect", "false", "no thanks", "i disagree",
    "not correct", "thats wrong", "no its wrong",
    "nee", "neen", "niet", "klopt niet", "nee hoor", "niet akkoord", "fout",
    "لا", "لأ", "مش صح", "غلط", "la",
    "نه", "نخیر", "na", "nakheir", "ghalat",
    "hayır", "hayir", "yok", "yanlis", "yanlıs",  # "yanlış" normalised (ş loses its cedilla)
    "non", "pas d accord", "faux",
    "нет", "неверно", "не согласен", "не согласна",
    "maya", "maya ma aha", "khalad",
    "ኣይ", "ኣይፋል", "ኣይኮነን",
}  # fmt: skip

# Words around a menu number ("option 2", "nummer 2"); "after 3 pm" is not option 3.
MENU_WORDS = {
    "option", "number", "nr", "no", "choice", "optie", "nummer", "keuze",
    "رقم", "خيار", "گزینه", "شماره", "numara", "secenek", "numero", "choix",
    "номер", "вариант", "lambar", "doorasho", "ቁጽሪ",
}  # fmt: skip

AFFIRM_INTENTS = {"affirm"}
DENY_INTENTS = {"deny"}
INTENT_CONFIDENCE_MIN = 0.6

MAX_TEXT = 120
MAX_DETAILS = 400
MAX_AGE = 120
ADULT_AGE = 18
MAX_HOUSEHOLD = 30

_DIGITS_RE = re.compile(r"\d+")
_NUMBER_RE = re.compile(r"-?\d+(?:[.,]\d+)?")
_DMY_RE = re.compile(r"\b(\d{1,2})\s*[-/.]\s*(\d{1,2})\s*[-/.]\s*(\d{4})\b")
_YMD_RE = re.compile(r"\b(\d{4})\s*[-/.]\s*(\d{1,2})\s*[-/.]\s*(\d{1,2})\b")
_YEAR_RE = re.compile(r"\b(19\d\d|20\d\d)\b")


def normalise(text: Any) -> str:
    """Lowercase, NFKC, no accents on Latin letters, punctuation to spaces, single spaces."""
    value = unicodedata.normalize("NFKC", str(text or "")).casefold()
    value = "".join(
        c
        for c in unicodedata.normalize("NFKD", value)
        if not (unicodedata.combining(c) and ord(c) < 0x0370)  # keep Arabic/Ge'ez marks
    )
    value = unicodedata.normalize("NFC", value)
    value = re.sub(r"[^\w-]+|_", " ", value)
    return " ".join(value.split())


def is_skip(text: Any) -> bool:
    value = normalise(text)
    return value in SKIP_WORDS or value.rstrip(" -") in SKIP_WORDS


def menu_choice(text: Any, payloads: list[str]) -> str | None:
    """The payload itself, or the payload of a menu number ("2", "nummer 2", "option 2")."""
    raw = str(text or "").strip()
    if raw in payloads:
        return raw
    value = normalise(raw)
    if value.replace(" ", "_") in payloads:
        return value.replace(" ", "_")
    tokens = value.split()
    numbers = [int(t) for t in tokens if _DIGITS_RE.fullmatch(t)]
    others = [t for t in tokens if not _DIGITS_RE.fullmatch(t)]
    if (
        len(numbers) == 1
        and all(t in MENU_WORDS for t in others)
        and 1 <= numbers[0] <= len(payloads)
    ):
        return payloads[numbers[0] - 1]
    return None


def parse_yes_no(text: Any, intent: str | None = None, confidence: float = 0.0) -> str | None:
    """``yes``/``no`` from a button, a word in any of our languages, or the affirm/deny intent."""
    value = normalise(text)
    if value in YES_WORDS:
        return YES
    if value in NO_WORDS:
        return NO
    words = value.split()
    if words and len(words) <= 4:
        if words[0] in YES_WORDS and not any(w in NO_WORDS for w in words):
            return YES
        if words[0] in NO_WORDS:
            return NO
    if intent in AFFIRM_INTENTS and confidence >= INTENT_CONFIDENCE_MIN:
        return YES
    if intent in DENY_INTENTS and confidence >= INTENT_CONFIDENCE_MIN:
        return NO
    return None


def parse_free_text(text: Any, max_length: int = MAX_TEXT) -> str | None:
    """A short, non-empty answer with at least one letter or digit, whitespace tidied."""
    value = " ".join(str(text or "").split())
    if not value or len(value) > max_length or not any(c.isalnum() for c in value):
        return None
    if value.startswith("/"):  # an intent payload, not an answer
        return None
    return value


# --- age or date of birth ---------------------------------------------------------------------


def _age_on(birth: dt.date, today: dt.date) -> int:
    return today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))


def parse_age(text: Any, today: dt.date | None = None) -> int | None:
    """Age in whole years from an age ("34", "ik ben 34 jaar") or a date of birth
    ("15-03-1990", "1990-03-15", "born in 1990"). ``None`` if implausible."""
    if isinstance(text, bool) or text is None:
        return None
    today = today or dt.date.today()
    if isinstance(text, int | float):
        number = float(text)
        if number != number or not 0 <= number <= MAX_AGE:
            return None
        return int(number)
    value = unicodedata.normalize("NFKC", str(text))
    for regex, order in ((_DMY_RE, (3, 2, 1)), (_YMD_RE, (1, 2, 3))):
        match = regex.search(value)
        if match:
            year, month, day = (int(match.group(i)) for i in order)
            try:
                birth = dt.date(year, month, day)
            except ValueError:
                return None
            age = _age_on(birth, today)
            return age if 0 <= age <= MAX_AGE and birth <= today else None
    year_match = _YEAR_RE.search(value)
    if year_match:
        # Only a year of birth: the age they reach this year (a counsellor checks the exact date).
        age = today.year - int(year_match.group(1))
        return age if 0 <= age <= MAX_AGE else None
    match = _NUMBER_RE.search(value)
    if not match:
        return None
    try:
        number = float(match.group().replace(",", "."))
    except ValueError:
        return None
    if number != number or number < 0 or number > MAX_AGE:
        return None
    return int(number)


# --- household --------------------------------------------------------------------------------

ALONE_WORDS = {
    "alone", "just me", "only me", "me", "me alone", "myself", "single", "i am alone",
    "alleen", "ik alleen", "alleen ik", "ik", "alleen mij",
    "وحدي", "لوحدي", "انا فقط", "تنها", "فقط من", "yalnız", "yalniz", "sadece ben", "seul", "seule",
    "moi seul", "один", "одна", "только я", "kaligay", "keligay", "ኣነ ጥራይ", "በይነይ",
}  # fmt: skip

HOUSEHOLD_WORDS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10,
    "een": 1, "één": 1, "twee": 2, "drie": 3, "vier": 4, "vijf": 5, "zes": 6, "zeven": 7,
    "acht": 8, "negen": 9, "tien": 10,
}  # fmt: skip


def parse_household(text: Any) -> int | None:
    """Number of people who would travel / live together, counting the person: 1..30."""
    value = normalise(text)
    if value in ALONE_WORDS:
        return 1
    numbers = [int(n) for n in _DIGITS_RE.findall(unicodedata.normalize("NFKC", str(text or "")))]
    if len(numbers) == 1:
        number = numbers[0]
    else:
        words = [HOUSEHOLD_WORDS[w] for w in value.split() if w in HOUSEHOLD_WORDS]
        if len(words) != 1:
            return None
        number = words[0]
    return number if 1 <= number <= MAX_HOUSEHOLD else None


# --- travel documents -------------------------------------------------------------------------

DOCUMENT_CHOICES = ("valid_passport", "expired", "none", "held_by_authorities")

DOCUMENT_PATTERNS: list[tuple[str, str]] = [
    # Order matters: the first match wins ("geen geldig paspoort" is "none", not "valid").
    ("held_by_authorities", r"\bind\b|\bpolic|\bpolitie|\bauthorit|\bautoriteit|\bheld\b|"
     r"\bhas my|\bhave my|\btaken\b|\bafgenomen|\bingenomen|\bdt ?v\b|\bkmar\b|\bmarechaussee"),
    ("expired", r"\bexpir|\bverlopen|\bout of date\b|\bold passport\b|\boud paspoort"),
    ("none", r"\bno\b|\bnone\b|\bnot\b|\bdon ?t have\b|\bdont have\b|\bgeen\b|\bniet\b|\blost\b|"
     r"\bkwijt\b|\bnothing\b"),
    ("valid_passport", r"\bvalid\b|\bgeldig|\bi have (a|my) passport\b|"
     r"\bik heb (een|mijn) paspoort"),
]  # fmt: skip


def parse_documents(text: Any, payloads: list[str]) -> str | None:
    choice = menu_choice(text, payloads)
    if choice is not None:
        return choice
    value = normalise(text)
    for canonical, pattern in DOCUMENT_PATTERNS:
        if re.search(pattern, value):
            return canonical
    return None


# --- phone ------------------------------------------------------------------------------------

SAME_NUMBER_WORDS = {
    "this number", "same number", "same", "this one", "the number i write from", "my number",
    "dit nummer", "hetzelfde nummer", "zelfde nummer", "hetzelfde",
}  # fmt: skip


def parse_phone(text: Any, region: str = "NL") -> str | None:
    """A valid phone number in E.164 (``+31612345678``), or ``None``."""
    raw = unicodedata.normalize("NFKC", str(text or "")).strip()
    if not raw or len(raw) > 40 or sum(c.isdigit() for c in raw) < 6:
        return None
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def is_same_number(text: Any) -> bool:
    return is_skip(text) or normalise(text) in SAME_NUMBER_WORDS


# --- countries --------------------------------------------------------------------------------

COUNTRY_MATCH_CUTOFF = 0.8
_EXTRA_NAME_LANGS = ("en", "nl")  # people mix languages: always also try these


def _strip_marks(value: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", value) if not unicodedata.combining(c))


@lru_cache(maxsize=16)
def country_names(lang: str) -> dict[str, str]:
    """Normalised country name -> ISO 3166 alpha-2 code, from babel's locale data."""
    names: dict[str, str] = {}
    for code in dict.fromkeys((lang, *_EXTRA_NAME_LANGS)):
        try:
            territories = Locale.parse(code).territories
        except (UnknownLocaleError, ValueError):
            continue
        for territory, name in territories.items():
            if (
                len(territory) != 2
                or not territory.isalpha()
                or territory in {"ZZ", "EU", "EZ", "UN"}
            ):
                continue
            key = _strip_marks(normalise(name))
            if key:
                names.setdefault(key, territory)
    return names


def country_name(code: str, lang: str | None) -> str:
    """The country's name in the person's language (English if babel lacks the language)."""
    for candidate in (lang or "en", "en"):
        try:
            name = Locale.parse(candidate).territories.get(code)
        except (UnknownLocaleError, ValueError):
            continue
        if name:
            return str(name)
    return code


def parse_country(text: Any, lang: str | None = None) -> str | None:
    """ISO code of the country named in the answer ("syria", "Syrië", "سوريا", "afganistan")."""
    value = _strip_marks(normalise(text))
    if not value or len(value) > 60:
        return None
    names = country_names(lang or "en")
    if value in names:
        return names[value]
    # "i am from syria", "uit eritrea": try every run of 1-3 words, longest first.
    words = value.split()
    candidates = [" ".join(words[i : i + n]) for n in (3, 2, 1) for i in range(len(words) - n + 1)]
    for candidate in candidates:
        if candidate in names:
            return names[candidate]
    for candidate in [value, *candidates]:
        if len(candidate) < 4:
            continue
        close = difflib.get_close_matches(candidate, names.keys(), n=1, cutoff=COUNTRY_MATCH_CUTOFF)
        if close:
            return names[close[0]]
    return None

"""The intake form: ``validate_intake_form`` and ``action_submit_intake``.

``intake_service`` is free text in any language. We accept a number from the menu in
``utter_ask_intake_service`` (1-6), a keyword in English or Dutch, or, failing both, the topic NLU
recognised with high confidence (``ik wil terug naar mijn land`` -> ``return``). Anything else is
answered with ``utter_invalid_intake_service`` and the question is asked again.

``intake_age`` accepts the first number in the message ("34", "34 years", "ik ben 34 jaar", also
Arabic-Indic and Persian digits), between 0 and 120. It also sets ``intake_minor``.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

SERVICES = ("return", "family_reunification", "resettlement", "labour_market", "cd4d", "other")

# Menu numbers, in the order of utter_ask_intake_service.
SERVICE_BY_NUMBER: dict[int, str] = {i + 1: service for i, service in enumerate(SERVICES)}

NUMBER_WORDS: dict[str, int] = {
    # English
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
    "first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6,
    # Dutch ("een" is left out: it is also the article "a")
    "twee": 2, "drie": 3, "vier": 4, "vijf": 5, "zes": 6,
    "eerste": 1, "tweede": 2, "derde": 3, "vierde": 4, "vijfde": 5, "zesde": 6,
}  # fmt: skip

# Keyword patterns (English and Dutch) on normalised text (lowercase, no punctuation).
SERVICE_PATTERNS: dict[str, list[str]] = {
    "return": [
        r"\breturn", r"\bgo(?:ing)? (?:back|home)\b", r"\bback home\b", r"\bhome\b",
        r"\brean\b", r"\bavrr", r"\breintegrat", r"\brepatri",
        r"\bterug", r"\bnaar huis\b", r"\bvertrek", r"\bherintegratie",
    ],
    "family_reunification": [
        r"\bfamil", r"\breunif", r"\breunion", r"\bgezin", r"\bnareis", r"\bhereniging",
    ],
    "resettlement": [r"\bresettl", r"\bhervestig", r"\bunhcr\b", r"\brelocat"],
    "labour_market": [
        r"\bwork", r"\bjobs?\b", r"\blabou?r", r"\bemploy", r"\bintegrat",
        r"\bwerk", r"\bbaan\b", r"\barbeid", r"\bvoorwerk", r"\bintegratie",
    ],
    "cd4d": [r"\bcd ?4 ?d\b", r"\bdiaspora"],
    "other": [r"\bother\b", r"\bsomething else\b", r"\belse\b", r"\banders\b", r"\boverig"],
}  # fmt: skip

# When no number or keyword matches: the NLU topic of the answer, if the model is confident.
SERVICE_BY_INTENT: dict[str, str] = {
    "return_info": "return",
    "return_eligibility": "return",
    "reintegration_support": "return",
    "travel_documents": "return",
    "return_special_needs": "return",
    "detention": "return",
    "family_reunification": "family_reunification",
    "resettlement": "resettlement",
    "labour_market": "labour_market",
    "cd4d": "cd4d",
}
INTENT_CONFIDENCE_MIN = 0.7

MIN_AGE = 0
MAX_AGE = 120
ADULT_AGE = 18

_NUMBER_RE = re.compile(r"-?\d+(?:[.,]\d+)?")
_DIGITS_RE = re.compile(r"\d+")


def normalise(text: Any) -> str:
    """Lowercase, NFKC, punctuation and underscores to spaces, single spaces."""
    value = unicodedata.normalize("NFKC", str(text or "")).casefold()
    value = re.sub(r"[^\w]+|_", " ", value)
    return " ".join(value.split())


def parse_service(text: Any) -> str | None:
    """Canonical service for a free-text answer, or None if unknown or ambiguous."""
    value = normalise(text)
    if not value:
        return None
    if value.replace(" ", "_") in SERVICES:
        return value.replace(" ", "_")

    candidates = set()
    for service, patterns in SERVICE_PATTERNS.items():
        if any(re.search(pattern, value) for pattern in patterns):
            candidates.add(service)

    # "cd 4 d" is a name, not menu option 4.
    tokens = re.sub(r"\bcd ?4 ?d\b", " ", value).split()
    for token in tokens:
        number: int | None = None
        if _DIGITS_RE.fullmatch(token):
            number = int(token)
        elif len(tokens) <= 3 and token in NUMBER_WORDS:
            number = NUMBER_WORDS[token]
        if number is not None and number in SERVICE_BY_NUMBER:
            candidates.add(SERVICE_BY_NUMBER[number])

    if len(candidates) == 1:
        return candidates.pop()
    return None


def parse_age(text: Any) -> int | None:
    """Age in whole years from free text, or None if there is no plausible age."""
    if isinstance(text, bool):
        return None
    if isinstance(text, (int, float)):
        number = float(text)
    else:
        match = _NUMBER_RE.search(unicodedata.normalize("NFKC", str(text or "")))
        if not match:
            return None
        try:
            number = float(match.group().replace(",", "."))
        except ValueError:
            return None
    if number != number or number < MIN_AGE or number > MAX_AGE:  # NaN or out of range
        return None
    return int(number)


def _service_from_intent(tracker: Tracker) -> str | None:
    intent = (tracker.latest_message or {}).get("intent") or {}
    name = intent.get("name")
    confidence = intent.get("confidence") or 0.0
    if name in SERVICE_BY_INTENT and float(confidence) >= INTENT_CONFIDENCE_MIN:
        return SERVICE_BY_INTENT[name]
    return None


class ValidateIntakeForm(FormValidationAction):
    """Validates the two intake answers; a wrong answer is rejected and asked again."""

    def name(self) -> str:
        return "validate_intake_form"

    def validate_intake_service(
        self,
        slot_value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> dict[str, Any]:
        service = parse_service(slot_value) or _service_from_intent(tracker)
        if service is None:
            dispatcher.utter_message(response="utter_invalid_intake_service")
            return {"intake_service": None}
        return {"intake_service": service}

    def validate_intake_age(
        self,
        slot_value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> dict[str, Any]:
        age = parse_age(slot_value)
        if age is None:
            dispatcher.utter_message(response="utter_invalid_intake_age")
            return {"intake_age": None, "intake_minor": None}
        return {"intake_age": age, "intake_minor": age < ADULT_AGE}


class ActionSubmitIntake(Action):
    """Send the intake answers to the gateway (control signal) and thank the person.

    The slots are cleared afterwards so a later application starts with fresh questions.
    """

    def name(self) -> str:
        return "action_submit_intake"

    async def run(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> list[EventType]:
        age = parse_age(tracker.get_slot("intake_age"))
        minor = tracker.get_slot("intake_minor")
        if minor is None and age is not None:
            minor = age < ADULT_AGE
        payload = {
            "service": tracker.get_slot("intake_service"),
            "age": age,
            "minor": minor,
        }
        dispatcher.utter_message(json_message={"intake_submitted": payload})
        dispatcher.utter_message(response="utter_intake_submitted")
        return [
            SlotSet("intake_service", None),
            SlotSet("intake_age", None),
            SlotSet("intake_minor", None),
        ]

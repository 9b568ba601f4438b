"""The intake form: ``validate_intake_form``, ``action_ask_intake_confirm`` and
``action_submit_intake``.

The questions, in order (each asked by the domain response ``utter_ask_<slot>``):

=========================  ==========================================  ===========================
slot                       canonical value                             skippable
=========================  ==========================================  ===========================
intake_service             return, family_reunification, ...           no
intake_country             ISO 3166 code ("SY"), matched with babel    no
intake_residence           free text (municipality, COA, detention)    yes
intake_age                 whole years, from an age or date of birth   no  (sets intake_minor)
intake_household           1..30                                        yes
intake_documents           valid_passport/expired/none/held_by_...      yes
intake_health              yes / no                                     yes
intake_health_details      free text, only asked after "yes"            yes
intake_phone               E.164, or "same" (the number they write)     yes (= "same")
intake_contact_time        morning/afternoon/evening/any_time or text   yes
intake_confirm             yes / no  (after a summary)                  no
intake_consent             yes / no  (only asked after confirm = yes)   no
=========================  ==========================================  ===========================

A skipped question holds ``"skip"``. A wrong answer gets ``utter_invalid_<...>`` and the question
is asked again. A minor (under 18) hears ``utter_intake_minor`` (Nidos) and the intake goes on.
``action_submit_intake`` sends ``{"intake_submitted": {...}}`` only after confirm *and* consent;
otherwise it says that nothing was sent. Answer parsing lives in ``actions/answers.py``.
"""

from __future__ import annotations

import re
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import catalog
from actions.answers import (
    ADULT_AGE,
    MAX_DETAILS,
    NO,
    SKIP,
    YES,
    country_name,
    is_same_number,
    is_skip,
    menu_choice,
    normalise,
    parse_age,
    parse_country,
    parse_documents,
    parse_free_text,
    parse_household,
    parse_phone,
    parse_yes_no,
)

FORM = "intake_form"
SAME_NUMBER = "same"

INTAKE_SLOTS = (
    "intake_service",
    "intake_country",
    "intake_residence",
    "intake_age",
    "intake_household",
    "intake_documents",
    "intake_health",
    "intake_health_details",
    "intake_phone",
    "intake_contact_time",
    "intake_confirm",
    "intake_consent",
)
# Set by validation only, never asked.
DERIVED_SLOTS = ("intake_minor",)

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

_DIGITS_RE = re.compile(r"\d+")


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


def lang_of(tracker: Tracker) -> str:
    """The conversation's language: the gateway sends it as message metadata every turn."""
    metadata = (tracker.latest_message or {}).get("metadata") or {}
    return str(metadata.get("lang") or "en")


def _intent(tracker: Tracker) -> tuple[str | None, float]:
    intent = (tracker.latest_message or {}).get("intent") or {}
    return intent.get("name"), float(intent.get("confidence") or 0.0)


def _service_from_intent(tracker: Tracker) -> str | None:
    name, confidence = _intent(tracker)
    if name in SERVICE_BY_INTENT and confidence >= INTENT_CONFIDENCE_MIN:
        return SERVICE_BY_INTENT[name]
    return None


def _invalid(dispatcher: CollectingDispatcher, response: str, slot: str) -> dict[str, Any]:
    dispatcher.utter_message(response=response)
    return {slot: None}


class ValidateIntakeForm(FormValidationAction):
    """Validates each intake answer; a wrong answer is rejected and asked again."""

    def name(self) -> str:
        return "validate_intake_form"

    async def required_slots(
        self,
        domain_slots: list[str],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> list[str]:
        slots = list(domain_slots)
        if tracker.get_slot("intake_health") != YES and "intake_health_details" in slots:
            slots.remove("intake_health_details")
        if tracker.get_slot("intake_confirm") == NO and "intake_consent" in slots:
            slots.remove("intake_consent")
        return slots

    # --- required questions -------------------------------------------------------------------

    def validate_intake_service(
        self,
        slot_value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> dict[str, Any]:
        service = parse_service(slot_value) or _service_from_intent(tracker)
        if service is None:
            return _invalid(dispatcher, "utter_invalid_intake_service", "intake_service")
        return {"intake_service": service}

    def validate_intake_country(
        self,
        slot_value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> dict[str, Any]:
        code = parse_country(slot_value, lang_of(tracker))
        if code is None:
            return _invalid(dispatcher, "utter_invalid_intake_country", "intake_country")
        return {"intake_country": code}

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
        minor = age < ADULT_AGE
        if minor:
            dispatcher.utter_message(response="utter_intake_minor")
        return {"intake_age": age, "intake_minor": minor}

    def validate_intake_confirm(
        self,
        slot_value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> dict[str, Any]:
        answer = parse_yes_no(slot_value, *_intent(tracker))
        if answer is None:
            return _invalid(dispatcher, "utter_invalid_intake_yes_no", "intake_confirm")
        return {"intake_confirm": answer}

    def validate_intake_consent(
        self,
        slot_value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> dict[str, Any]:
        answer = parse_yes_no(slot_value, *_intent(tracker))
        if answer is None:
            return _invalid(dispatcher, "utter_invalid_intake_yes_no", "intake_consent")
        return {"intake_consent": answer}

    # --- optional questions ("skip" in any of our languages) ----------------------------------

    def validate_intake_residence(
        self,
        slot_value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> dict[str, Any]:
        if is_skip(slot_value):
            return {"intake_residence": SKIP}
        value = parse_free_text(slot_value)
        if value is None:
            return _invalid(dispatcher, "utter_invalid_intake_text", "intake_residence")
        return {"intake_residence": value}

    def validate_intake_household(
        self,
        slot_value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> dict[str, Any]:
        if is_skip(slot_value):
            return {"intake_household": SKIP}
        number = parse_household(slot_value)
        if number is None:
            return _invalid(dispatcher, "utter_invalid_intake_household", "intake_household")
        return {"intake_household": number}

    def validate_intake_documents(
        self,
        slot_value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> dict[str, Any]:
        payloads = catalog.button_payloads("utter_ask_intake_documents")
        choice = parse_documents(slot_value, payloads)
        if choice == SKIP or (choice is None and is_skip(slot_value)):
            return {"intake_documents": SKIP}
        if choice is None:
            return _invalid(dispatcher, "utter_invalid_intake_documents", "intake_documents")
        return {"intake_documents": choice}

    def validate_intake_health(
        self,
        slot_value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> dict[str, Any]:
        if is_skip(slot_value):
            return {"intake_health": SKIP}
        answer = parse_yes_no(slot_value, *_intent(tracker))
        if answer is None:
            return _invalid(dispatcher, "utter_invalid_intake_yes_no", "intake_health")
        return {"intake_health": answer}

    def validate_intake_health_details(
        self,
        slot_value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> dict[str, Any]:
        if is_skip(slot_value):
            return {"intake_health_details": SKIP}
        value = parse_free_text(slot_value, MAX_DETAILS)
        if value is None:
            return _invalid(dispatcher, "utter_invalid_intake_text", "intake_health_details")
        return {"intake_health_details": value}

    def validate_intake_phone(
        self,
        slot_value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> dict[str, Any]:
        if is_same_number(slot_value):
            return {"intake_phone": SAME_NUMBER}
        number = parse_phone(slot_value)
        if number is None:
            return _invalid(dispatcher, "utter_invalid_intake_phone", "intake_phone")
        return {"intake_phone": number}

    def validate_intake_contact_time(
        self,
        slot_value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> dict[str, Any]:
        payloads = catalog.button_payloads("utter_ask_intake_contact_time")
        choice = menu_choice(slot_value, payloads)
        if choice is not None:
            return {"intake_contact_time": choice}
        if is_skip(slot_value):
            return {"intake_contact_time": SKIP}
        value = parse_free_text(slot_value)
        if value is None:
            return _invalid(dispatcher, "utter_invalid_intake_text", "intake_contact_time")
        return {"intake_contact_time": value}


# --- the summary ------------------------------------------------------------------------------

NOT_GIVEN = "—"


def _label(response: str, value: Any, lang: str) -> str:
    """A canonical answer shown in the person's language: the title of the button that gives
    this value in the question's response, else the person's own words."""
    if value is None or value == SKIP:
        return NOT_GIVEN
    title = catalog.button_title(response, str(value), lang)
    return title if title is not None else str(value)


def summary_values(tracker: Tracker, lang: str) -> dict[str, str]:
    """Values for the placeholders of ``utter_ask_intake_confirm`` (filled in by the gateway)."""
    slot = tracker.get_slot
    country = slot("intake_country")
    health = _label("utter_ask_intake_health", slot("intake_health"), lang)
    details = slot("intake_health_details")
    if slot("intake_health") == YES and details and details != SKIP:
        health = f"{health} ({details})"
    phone = slot("intake_phone")
    if phone == SAME_NUMBER:
        phone_label = (
            catalog.button_title("utter_ask_intake_phone", SKIP_PAYLOAD_PHONE, lang) or NOT_GIVEN
        )
    else:
        phone_label = phone or NOT_GIVEN
    household = slot("intake_household")
    return {
        "s_service": _label("utter_ask_intake_service", slot("intake_service"), lang),
        "s_country": country_name(str(country), lang) if country else NOT_GIVEN,
        "s_residence": _label("utter_ask_intake_residence", slot("intake_residence"), lang),
        "s_age": NOT_GIVEN if slot("intake_age") is None else str(int(slot("intake_age"))),
        "s_household": NOT_GIVEN if household in (None, SKIP) else str(household),
        "s_documents": _label("utter_ask_intake_documents", slot("intake_documents"), lang),
        "s_health": health,
        "s_phone": phone_label,
        "s_contact_time": _label(
            "utter_ask_intake_contact_time", slot("intake_contact_time"), lang
        ),
    }


# The phone question's "use the number I write from" button carries the payload "skip".
SKIP_PAYLOAD_PHONE = SKIP


class ActionAskIntakeConfirm(Action):
    """Asks ``utter_ask_intake_confirm``: the summary of every answer, then yes / no."""

    def name(self) -> str:
        return "action_ask_intake_confirm"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        dispatcher.utter_message(
            response="utter_ask_intake_confirm", **summary_values(tracker, lang_of(tracker))
        )
        return []


# --- submission -------------------------------------------------------------------------------


def intake_answers(tracker: Tracker) -> dict[str, Any]:
    """The answers as the gateway stores them for the counsellor (``None`` = skipped)."""
    slot = tracker.get_slot

    def given(name: str) -> Any:
        value = slot(name)
        return None if value == SKIP else value

    age = parse_age(slot("intake_age"))
    minor = slot("intake_minor")
    if minor is None and age is not None:
        minor = age < ADULT_AGE
    country = slot("intake_country")
    phone = slot("intake_phone")
    health = given("intake_health")
    return {
        "service": slot("intake_service"),
        "country": country,
        "country_name": country_name(country, "en") if country else None,
        "residence": given("intake_residence"),
        "age": age,
        "minor": minor,
        "household": given("intake_household"),
        "travel_documents": given("intake_documents"),
        "special_needs": None if health is None else health == YES,
        "special_needs_details": given("intake_health_details") if health == YES else None,
        # "same": reach them on the number/channel they write from (the gateway knows it).
        "phone": None if phone in (None, SAME_NUMBER) else phone,
        "phone_is_channel": phone in (None, SAME_NUMBER),
        "contact_time": given("intake_contact_time"),
        "consent": True,
    }


class ActionSubmitIntake(Action):
    """Send the intake answers to the gateway (control signal) and tell the person what happened.

    Only a confirmed summary *with* consent is sent; otherwise nothing leaves the conversation.
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
        confirmed = tracker.get_slot("intake_confirm") == YES
        consent = tracker.get_slot("intake_consent") == YES
        if not confirmed:
            dispatcher.utter_message(response="utter_intake_not_confirmed")
        elif not consent:
            dispatcher.utter_message(response="utter_intake_no_consent")
        else:
            dispatcher.utter_message(json_message={"intake_submitted": intake_answers(tracker)})
            dispatcher.utter_message(response="utter_intake_submitted")
        return [SlotSet(name, None) for name in (*INTAKE_SLOTS, *DERIVED_SLOTS)]

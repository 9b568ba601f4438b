"""Property-based fuzzing (hypothesis) of the intake form's validation, called the way Rasa calls
it (``ValidateIntakeForm.run`` with the answer as the requested slot's candidate value).

Whatever arrives (any text, any script, SQL- or HTML-shaped, or a value of the wrong type from a
broken client), validation never raises; an invalid answer leaves the slot empty and says why,
so the form asks the question again; a valid answer is stored in its normalised form.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import phonenumbers
import yaml
from action_testing import make_tracker, responses, run
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rasa_sdk.executor import CollectingDispatcher

from actions import catalog
from actions.answers import (
    DOCUMENT_CHOICES,
    MAX_AGE,
    MAX_DETAILS,
    MAX_HOUSEHOLD,
    MAX_TEXT,
    NO,
    NO_WORDS,
    SKIP,
    YES,
    YES_WORDS,
    country_names,
    parse_yes_no,
)
from actions.intake import INTAKE_SLOTS, SAME_NUMBER, SERVICES, ValidateIntakeForm

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
LANGUAGES = ["en", "nl", "ar", "fa", "tr", "fr", "ru", "so", "ti"]
TRICKY = [
    "",
    " ",
    "\u200b",
    "\x00",
    "/",
    "/request_human",
    "-",
    "'; DROP TABLE intakes; --",
    "1 OR 1=1",
    '" OR ""="',
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "{{ 7*7 }}",
    "%s%s%s%n",
    "٣٤",
    "𝟑𝟒",
    "+31 6 1234 5678",
    "06-12345678",
    "0" * 500,
    "9" * 60,
    "31-02-1990",
    "1990-13-45",
    "ا" * 300,
    "ab\u202eyes",
]
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()  # NaN and infinity included: Python callers can send them
    | st.text(max_size=200)
    | st.sampled_from(TRICKY)
)
ANYTHING = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=6,
)
E164 = re.compile(r"\+[1-9]\d{6,14}")
# Slots that only get asked after an earlier answer (see required_slots).
CONTEXT = {
    "intake_health_details": {"intake_health": YES},
    "intake_consent": {"intake_confirm": YES},
}
DOMAIN = yaml.safe_load(
    (Path(__file__).parents[2] / "dialogues" / "domain.yml").read_text(encoding="utf-8")
)


def validate(slot: str, value: Any, lang: str = "en") -> tuple[dict[str, Any], list[str]]:
    """Run the form validation as Rasa does; the slots it set and the responses it sent."""
    events: list[dict[str, Any]] = [
        {"event": "user", "text": str(value)},
        {"event": "slot", "name": "requested_slot", "value": slot},
        {"event": "action", "name": "intake_form"},
        {"event": "slot", "name": slot, "value": value},
    ]
    tracker = make_tracker(
        str(value),
        intent="nlu_fallback",
        confidence=0.3,
        slots={"requested_slot": slot, slot: value, **CONTEXT.get(slot, {})},
        events=events,
        active_loop="intake_form",
        lang=lang,
    )
    dispatcher = CollectingDispatcher()
    result = run(ValidateIntakeForm().run(dispatcher, tracker, DOMAIN))
    slots = {e["name"]: e["value"] for e in result if e["event"] == "slot"}
    return slots, responses(dispatcher)


def tidy_text(value: Any, limit: int) -> bool:
    return (
        isinstance(value, str)
        and value == " ".join(value.split())
        and 0 < len(value) <= limit
        and not value.startswith("/")
        and any(c.isalnum() for c in value)
    )


def is_normalised(slot: str, value: Any) -> bool:
    """Whether ``value`` is a stored answer of the canonical form for ``slot``."""
    if slot == "intake_service":
        return value in SERVICES
    if slot == "intake_country":
        return isinstance(value, str) and len(value) == 2 and value.isalpha() and value.isupper()
    if slot == "intake_age":
        return type(value) is int and 0 <= value <= MAX_AGE
    if slot in ("intake_confirm", "intake_consent"):
        return value in (YES, NO)
    if slot == "intake_health":
        return value in (YES, NO, SKIP)
    if slot == "intake_household":
        return value == SKIP or (type(value) is int and 1 <= value <= MAX_HOUSEHOLD)
    if slot == "intake_documents":
        return value == SKIP or value in DOCUMENT_CHOICES
    if slot == "intake_phone":
        return value == SAME_NUMBER or (
            isinstance(value, str)
            and E164.fullmatch(value) is not None
            and phonenumbers.is_valid_number(phonenumbers.parse(value))
        )
    if slot == "intake_contact_time":
        payloads = catalog.button_payloads("utter_ask_intake_contact_time")
        return value in payloads or tidy_text(value, MAX_TEXT)
    limit = MAX_DETAILS if slot == "intake_health_details" else MAX_TEXT
    return value == SKIP or tidy_text(value, limit)


@FUZZ
@given(
    slot=st.sampled_from(INTAKE_SLOTS),
    value=ANYTHING,
    lang=st.sampled_from(LANGUAGES),
)
def test_any_answer_is_stored_normalised_or_refused_and_asked_again(
    slot: str, value: Any, lang: str
) -> None:
    slots, said = validate(slot, value, lang)
    assert slot in slots
    stored = slots[slot]
    if stored is None:
        # Refused: exactly one "that was not valid" message; the form then asks again.
        invalid = [r for r in said if r.startswith("utter_invalid_")]
        assert len(invalid) == 1, said
        if slot == "intake_age":
            assert slots["intake_minor"] is None
    else:
        assert is_normalised(slot, stored), (slot, value, stored)
        assert not any(r.startswith("utter_invalid_") for r in said)
        if slot == "intake_age":
            assert slots["intake_minor"] is (stored < 18)


AGE_FORMS = ["{n}", " {n} ", "{n} years", "ik ben {n} jaar", "I am {n}.", "{n}!"]


@FUZZ
@given(n=st.integers(0, MAX_AGE), form=st.sampled_from(AGE_FORMS))
def test_a_valid_age_is_stored_as_a_number(n: int, form: str) -> None:
    slots, said = validate("intake_age", form.format(n=n))
    assert slots["intake_age"] == n
    assert slots["intake_minor"] is (n < 18)
    assert said == (["utter_intake_minor"] if n < 18 else [])


@FUZZ
@given(n=st.integers(1, MAX_HOUSEHOLD), form=st.sampled_from(["{n}", "{n} people", "we are {n}"]))
def test_a_valid_household_is_stored_as_a_number(n: int, form: str) -> None:
    assert validate("intake_household", form.format(n=n))[0]["intake_household"] == n


@FUZZ
@given(
    digits=st.from_regex(r"\A6[1-5][0-9]{7}\Z"),
    form=st.sampled_from(["0{d}", "+31{d}", "+31 {d}", "0{a}-{b}", "0031{d}"]),
)
def test_a_valid_dutch_mobile_number_is_stored_in_e164(digits: str, form: str) -> None:
    text = form.format(d=digits, a=digits[:2], b=digits[2:])
    slots, said = validate("intake_phone", text)
    assert slots["intake_phone"] == f"+31{digits}", text
    assert said == []


@FUZZ
@given(
    word=st.sampled_from(sorted(YES_WORDS | NO_WORDS)),
    shout=st.booleans(),
    end=st.sampled_from(["", "!", ".", " ", "!!"]),
)
def test_yes_and_no_words_are_understood_whatever_the_case_and_punctuation(
    word: str, shout: bool, end: str
) -> None:
    expected = YES if word in YES_WORDS else NO
    text = (word.upper() if shout else word) + end
    assert validate("intake_confirm", text)[0]["intake_confirm"] == expected


def test_turkish_no_is_understood_as_people_write_it() -> None:
    # Found by the fuzzer: the word list held "yanlış", which normalising turns into "yanlıs".
    assert parse_yes_no("yanlış") == NO
    assert parse_yes_no("Yanlış!") == NO


@FUZZ
@given(data=st.data(), lang=st.sampled_from(LANGUAGES))
def test_a_country_name_in_the_persons_language_is_stored_as_its_code(
    data: st.DataObject, lang: str
) -> None:
    names = country_names(lang)
    name = data.draw(st.sampled_from(sorted(names)))
    text = data.draw(st.sampled_from(["{}", "  {}  ", "{}!", "{}."])).format(name)
    assert validate("intake_country", text, lang)[0]["intake_country"] == names[name]


@FUZZ
@given(n=st.integers(1, len(SERVICES)), form=st.sampled_from(["{n}", "option {n}", "nummer {n}"]))
def test_a_menu_number_is_stored_as_its_service(n: int, form: str) -> None:
    assert validate("intake_service", form.format(n=n))[0]["intake_service"] == SERVICES[n - 1]

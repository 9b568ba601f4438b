from __future__ import annotations

import re
from typing import Any

import pytest
from action_testing import custom_payloads, make_tracker, responses, run
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.answers import parse_age
from actions.intake import (
    ActionAskIntakeConfirm,
    ActionSubmitIntake,
    ValidateIntakeForm,
    parse_service,
)

# --- intake_service ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1", "return"),
        ("2", "family_reunification"),
        ("3", "resettlement"),
        ("4", "labour_market"),
        ("5", "cd4d"),
        ("6", "other"),
        ("nummer 2", "family_reunification"),
        ("option 3", "resettlement"),
        ("twee", "family_reunification"),
        ("return", "return"),
        ("Return home!", "return"),
        ("terugkeer", "return"),
        ("ik wil terug naar huis", "return"),
        ("family", "family_reunification"),
        ("gezinshereniging", "family_reunification"),
        ("nareis", "family_reunification"),
        ("resettlement", "resettlement"),
        ("hervestiging", "resettlement"),
        ("ik zoek werk", "labour_market"),
        ("a job", "labour_market"),
        ("CD4D", "cd4d"),
        ("cd 4 d", "cd4d"),
        ("diaspora", "cd4d"),
        ("other", "other"),
        ("iets anders", "other"),
        ("family_reunification", "family_reunification"),
        ("labour_market", "labour_market"),
    ],
)
def test_parse_service_accepts_numbers_and_keywords(text: str, expected: str) -> None:
    assert parse_service(text) == expected


@pytest.mark.parametrize("text", ["", "banana", "34", "7", "ok", "1 family", "home and family"])
def test_parse_service_rejects_unknown_or_ambiguous(text: str) -> None:
    assert parse_service(text) is None


def test_wrong_service_is_rejected_with_invalid_response(dispatcher: Any, domain: Any) -> None:
    tracker = make_tracker("banana", intent="nlu_fallback", confidence=0.2)
    result = ValidateIntakeForm().validate_intake_service("banana", dispatcher, tracker, domain)
    assert result == {"intake_service": None}
    assert responses(dispatcher) == ["utter_invalid_intake_service"]


def test_service_falls_back_to_a_confident_topic(dispatcher: Any, domain: Any) -> None:
    text = "i would like to see my country again"
    tracker = make_tracker(text, intent="return_info", confidence=0.93)
    result = ValidateIntakeForm().validate_intake_service(text, dispatcher, tracker, domain)
    assert result == {"intake_service": "return"}
    assert responses(dispatcher) == []


def test_unsure_topic_is_not_used(dispatcher: Any, domain: Any) -> None:
    text = "hmm maybe"
    tracker = make_tracker(text, intent="return_info", confidence=0.4)
    result = ValidateIntakeForm().validate_intake_service(text, dispatcher, tracker, domain)
    assert result == {"intake_service": None}


# --- intake_age -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("34", 34),
        ("34 years", 34),
        ("ik ben 34", 34),
        ("ik ben 34 jaar oud", 34),
        ("17,5", 17),
        ("0", 0),
        ("120", 120),
        ("٣٤", 34),  # Arabic-Indic digits
        ("۳۴", 34),  # Persian digits
        (34.0, 34),
    ],
)
def test_parse_age_accepts(text: Any, expected: int) -> None:
    assert parse_age(text) == expected


@pytest.mark.parametrize(
    "text", ["", "abc", "thirty four", "-3", "121", "1850", "31-02-1990", None, True]
)
def test_parse_age_rejects(text: Any) -> None:
    assert parse_age(text) is None


def test_wrong_age_is_rejected(dispatcher: Any, domain: Any) -> None:
    tracker = make_tracker("old enough")
    result = ValidateIntakeForm().validate_intake_age("old enough", dispatcher, tracker, domain)
    assert result == {"intake_age": None, "intake_minor": None}
    assert responses(dispatcher) == ["utter_invalid_intake_age"]


@pytest.mark.parametrize(
    ("text", "minor"), [("16", True), ("17", True), ("18", False), ("45", False)]
)
def test_age_sets_minor_flag(dispatcher: Any, domain: Any, text: str, minor: bool) -> None:
    tracker = make_tracker(text)
    result = ValidateIntakeForm().validate_intake_age(text, dispatcher, tracker, domain)
    assert result == {"intake_age": int(text), "intake_minor": minor}
    # A minor hears about Nidos (the legal guardian) and that a counsellor will contact them.
    assert responses(dispatcher) == (["utter_intake_minor"] if minor else [])


# --- the whole validation action, as Rasa calls it --------------------------------------------


def _form_tracker(text: str, slot: str) -> Any:
    # What Rasa's FormAction sends: the requested slot, the form's execution, then the candidates.
    events: list[dict[str, Any]] = [
        {"event": "user", "text": text},
        {"event": "slot", "name": "requested_slot", "value": slot},
        {"event": "action", "name": "intake_form"},
        {"event": "slot", "name": slot, "value": text},
    ]
    return make_tracker(
        text,
        intent="nlu_fallback",
        confidence=0.3,
        slots={"requested_slot": slot, slot: text},
        events=events,
        active_loop="intake_form",
    )


def test_run_rejects_wrong_age_then_accepts_correction(dispatcher: Any, domain: Any) -> None:
    action = ValidateIntakeForm()
    events = run(action.run(dispatcher, _form_tracker("two hundred", "intake_age"), domain))
    assert SlotSet("intake_age", None) in events
    assert responses(dispatcher) == ["utter_invalid_intake_age"]

    dispatcher.messages.clear()
    events = run(action.run(dispatcher, _form_tracker("ik ben 34 jaar", "intake_age"), domain))
    assert SlotSet("intake_age", 34) in events
    assert SlotSet("intake_minor", False) in events
    assert responses(dispatcher) == []


def test_run_canonicalises_service(dispatcher: Any, domain: Any) -> None:
    events = run(
        ValidateIntakeForm().run(
            dispatcher, _form_tracker("gezinshereniging", "intake_service"), domain
        )
    )
    assert SlotSet("intake_service", "family_reunification") in events


# --- the other questions ----------------------------------------------------------------------

V = ValidateIntakeForm()


def _validate(slot: str, text: Any, dispatcher: Any, domain: Any, **kwargs: Any) -> Any:
    tracker = make_tracker(str(text), **kwargs)
    return getattr(V, f"validate_{slot}")(text, dispatcher, tracker, domain)


@pytest.mark.parametrize(
    ("text", "lang", "code"),
    [
        ("syria", "en", "SY"),
        ("Syrië", "nl", "SY"),
        ("ik kom uit eritrea", "nl", "ER"),
        ("afganistan", "en", "AF"),  # typo: fuzzy match
        ("Irak", "nl", "IQ"),
        ("سوريا", "ar", "SY"),
        ("افغانستان", "fa", "AF"),
        ("Türkiye", "tr", "TR"),
        ("Érythrée", "fr", "ER"),
        ("Сирия", "ru", "SY"),
    ],
)
def test_country_names_in_the_persons_language(
    dispatcher: Any, domain: Any, text: str, lang: str, code: str
) -> None:
    assert _validate("intake_country", text, dispatcher, domain, lang=lang) == {
        "intake_country": code
    }


@pytest.mark.parametrize("text", ["banana", "", "the place with the big river", "x" * 80])
def test_unknown_country_is_asked_again(dispatcher: Any, domain: Any, text: str) -> None:
    assert _validate("intake_country", text, dispatcher, domain) == {"intake_country": None}
    assert responses(dispatcher) == ["utter_invalid_intake_country"]


@pytest.mark.parametrize(
    ("text", "today_age"),
    [("15-03-1990", True), ("1990-03-15", True), ("born 2 march 1990", True)],
)
def test_date_of_birth_is_an_age(text: str, today_age: bool) -> None:
    import datetime as dt

    assert parse_age(text, today=dt.date(2026, 11, 29)) == 36


def test_date_of_birth_of_a_minor(dispatcher: Any, domain: Any) -> None:
    result = _validate("intake_age", "01-01-2015", dispatcher, domain)
    assert result["intake_minor"] is True
    assert responses(dispatcher) == ["utter_intake_minor"]


@pytest.mark.parametrize(
    "word", ["skip", "Skip", "overslaan", "تخطي", "رد کردن", "geç", "passer", "пропустить",
             "ka bood", "ሕለፍ"],
)  # fmt: skip
def test_optional_questions_can_be_skipped_in_every_language(
    dispatcher: Any, domain: Any, word: str
) -> None:
    for slot in ("intake_residence", "intake_household", "intake_documents", "intake_health",
                 "intake_health_details", "intake_contact_time"):  # fmt: skip
        assert _validate(slot, word, dispatcher, domain) == {slot: "skip"}, slot
    # For the phone, skipping means "the number I write from".
    assert _validate("intake_phone", word, dispatcher, domain) == {"intake_phone": "same"}
    assert responses(dispatcher) == []


@pytest.mark.parametrize("slot", ["intake_service", "intake_country", "intake_age"])
def test_required_questions_cannot_be_skipped(dispatcher: Any, domain: Any, slot: str) -> None:
    assert _validate(slot, "skip", dispatcher, domain)[slot] is None
    assert len(responses(dispatcher)) == 1


def test_residence_is_short_free_text(dispatcher: Any, domain: Any) -> None:
    assert _validate("intake_residence", "  AZC  Ter Apel ", dispatcher, domain) == {
        "intake_residence": "AZC Ter Apel"
    }
    assert _validate("intake_residence", "x" * 200, dispatcher, domain) == {
        "intake_residence": None
    }
    assert _validate("intake_residence", "???", dispatcher, domain) == {"intake_residence": None}
    assert responses(dispatcher) == ["utter_invalid_intake_text"] * 2


@pytest.mark.parametrize(
    ("text", "expected"),
    [("1", 1), ("only me", 1), ("alleen ik", 1), ("we are 4", 4), ("drie", 3), ("٣", 3),
     ("0", None), ("100", None), ("a lot", None)],
)  # fmt: skip
def test_household(dispatcher: Any, domain: Any, text: str, expected: Any) -> None:
    assert _validate("intake_household", text, dispatcher, domain) == {"intake_household": expected}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("valid_passport", "valid_passport"),
        ("held_by_authorities", "held_by_authorities"),
        ("2", "expired"),  # menu number, in the order of the buttons
        ("3", "none"),
        ("my passport is expired", "expired"),
        ("mijn paspoort is verlopen", "expired"),
        ("the IND has my passport", "held_by_authorities"),
        ("politie heeft het", "held_by_authorities"),
        ("i have no passport", "none"),
        ("geen", "none"),
        ("ik heb een geldig paspoort", "valid_passport"),
        ("banana", None),
        ("9", None),
    ],
)
def test_travel_document_status(dispatcher: Any, domain: Any, text: str, expected: Any) -> None:
    assert _validate("intake_documents", text, dispatcher, domain) == {"intake_documents": expected}


@pytest.mark.parametrize(
    ("text", "intent", "expected"),
    [
        ("yes", None, "yes"),
        ("Ja hoor", None, "yes"),
        ("نعم", None, "yes"),
        ("evet", None, "yes"),
        ("no", None, "no"),
        ("nee", None, "no"),
        ("нет", None, "no"),
        ("sounds fine to me", "affirm", "yes"),
        ("absolutely not", "deny", "no"),
        ("maybe", None, None),
    ],
)
def test_yes_no_questions(
    dispatcher: Any, domain: Any, text: str, intent: Any, expected: Any
) -> None:
    for slot in ("intake_health", "intake_confirm", "intake_consent"):
        result = _validate(slot, text, dispatcher, domain, intent=intent, confidence=0.9)
        assert result == {slot: expected}, slot
    if expected is None:
        assert responses(dispatcher) == ["utter_invalid_intake_yes_no"] * 3


def test_confirm_and_consent_cannot_be_skipped(dispatcher: Any, domain: Any) -> None:
    assert _validate("intake_confirm", "skip", dispatcher, domain) == {"intake_confirm": None}
    assert _validate("intake_consent", "skip", dispatcher, domain) == {"intake_consent": None}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("06 12345678", "+31612345678"),
        ("+31 6 1234 5678", "+31612345678"),
        ("0031612345678", "+31612345678"),
        ("070 318 15 00", "+31703181500"),
        ("+964 750 123 4567", "+9647501234567"),
        ("this number", "same"),
        ("dit nummer", "same"),
        ("12345", None),
        ("call me", None),
    ],
)
def test_phone_is_validated(dispatcher: Any, domain: Any, text: str, expected: Any) -> None:
    assert _validate("intake_phone", text, dispatcher, domain) == {"intake_phone": expected}
    assert responses(dispatcher) == ([] if expected else ["utter_invalid_intake_phone"])


def test_contact_time_choice_or_free_text(dispatcher: Any, domain: Any) -> None:
    assert _validate("intake_contact_time", "morning", dispatcher, domain) == {
        "intake_contact_time": "morning"
    }
    assert _validate("intake_contact_time", "2", dispatcher, domain) == {
        "intake_contact_time": "afternoon"
    }
    assert _validate("intake_contact_time", "after 3 pm", dispatcher, domain) == {
        "intake_contact_time": "after 3 pm"
    }


# --- which questions are asked ----------------------------------------------------------------


def _required(domain: Any, **slots: Any) -> list[str]:
    tracker = make_tracker("x", slots=slots)
    domain_slots = V.domain_slots(domain)
    return run(V.required_slots(domain_slots, CollectingDispatcher(), tracker, domain))


def test_health_details_only_after_yes(domain: Any) -> None:
    assert "intake_health_details" not in _required(domain)
    assert "intake_health_details" not in _required(domain, intake_health="no")
    assert "intake_health_details" not in _required(domain, intake_health="skip")
    assert "intake_health_details" in _required(domain, intake_health="yes")


def test_consent_only_after_confirmation(domain: Any) -> None:
    assert "intake_consent" in _required(domain, intake_confirm="yes")
    assert "intake_consent" not in _required(domain, intake_confirm="no")


def test_every_question_has_its_response(domain: Any) -> None:
    for slot in domain["forms"]["intake_form"]["required_slots"]:
        assert f"utter_ask_{slot}" in domain["responses"], slot
        assert slot in domain["slots"], slot
        variation = domain["responses"][f"utter_ask_{slot}"][0]
        assert len(variation.get("buttons") or []) <= 6, slot


# --- summary ----------------------------------------------------------------------------------

ANSWERS: dict[str, Any] = {
    "intake_service": "return",
    "intake_country": "IQ",
    "intake_residence": "AZC Budel",
    "intake_age": 34.0,
    "intake_minor": False,
    "intake_household": 3,
    "intake_documents": "expired",
    "intake_health": "yes",
    "intake_health_details": "diabetes",
    "intake_phone": "same",
    "intake_contact_time": "skip",
}


def test_summary_in_english(dispatcher: Any, domain: Any) -> None:
    tracker = make_tracker("afternoon", slots=ANSWERS)
    run(ActionAskIntakeConfirm().run(dispatcher, tracker, domain))
    [message] = dispatcher.messages
    assert message["response"] == "utter_ask_intake_confirm"
    assert message["s_service"] == "Return home"
    assert message["s_country"] == "Iraq"
    assert message["s_residence"] == "AZC Budel"
    assert message["s_age"] == "34"
    assert message["s_household"] == "3"
    assert message["s_documents"] == "Expired passport"
    assert message["s_health"] == "Yes (diabetes)"
    assert message["s_phone"] == "Use this number"
    assert message["s_contact_time"] == "—"
    # every placeholder of the response gets a value
    text = domain["responses"]["utter_ask_intake_confirm"][0]["text"]
    assert set(re.findall(r"\{(\w+)\}", text)) <= set(message)


def test_summary_in_dutch_uses_the_catalog_and_babel(dispatcher: Any, domain: Any) -> None:
    tracker = make_tracker("x", slots=ANSWERS, lang="nl")
    run(ActionAskIntakeConfirm().run(dispatcher, tracker, domain))
    [message] = dispatcher.messages
    assert message["s_country"] == "Irak"
    assert message["s_service"] != "Return home"  # translated in locales/nl
    assert message["s_documents"] != "Expired passport"


# --- submission -------------------------------------------------------------------------------


def test_confirmed_with_consent_is_submitted(dispatcher: Any, domain: Any) -> None:
    slots = {
        **ANSWERS,
        "intake_confirm": "yes",
        "intake_consent": "yes",
        "intake_phone": "+31612345678",
    }
    events = run(ActionSubmitIntake().run(dispatcher, make_tracker("ja", slots=slots), domain))
    assert custom_payloads(dispatcher) == [
        {
            "intake_submitted": {
                "service": "return",
                "country": "IQ",
                "country_name": "Iraq",
                "residence": "AZC Budel",
                "age": 34,
                "minor": False,
                "household": 3,
                "travel_documents": "expired",
                "special_needs": True,
                "special_needs_details": "diabetes",
                "phone": "+31612345678",
                "phone_is_channel": False,
                "contact_time": None,
                "consent": True,
            }
        }
    ]
    assert responses(dispatcher) == ["utter_intake_submitted"]
    # signal first, then the thank-you text
    assert dispatcher.messages[0]["custom"] and dispatcher.messages[1]["response"]
    assert SlotSet("intake_service", None) in events
    assert SlotSet("intake_minor", None) in events
    assert SlotSet("intake_consent", None) in events


def test_phone_skipped_means_the_channel(dispatcher: Any, domain: Any) -> None:
    slots = {**ANSWERS, "intake_confirm": "yes", "intake_consent": "yes"}
    run(ActionSubmitIntake().run(dispatcher, make_tracker("ja", slots=slots), domain))
    submitted = custom_payloads(dispatcher)[0]["intake_submitted"]
    assert submitted["phone"] is None and submitted["phone_is_channel"] is True


def test_no_consent_sends_nothing(dispatcher: Any, domain: Any) -> None:
    slots = {**ANSWERS, "intake_confirm": "yes", "intake_consent": "no"}
    events = run(ActionSubmitIntake().run(dispatcher, make_tracker("nee", slots=slots), domain))
    assert custom_payloads(dispatcher) == []
    assert responses(dispatcher) == ["utter_intake_no_consent"]
    assert SlotSet("intake_country", None) in events


def test_not_confirmed_sends_nothing(dispatcher: Any, domain: Any) -> None:
    slots = {**ANSWERS, "intake_confirm": "no"}
    run(ActionSubmitIntake().run(dispatcher, make_tracker("no", slots=slots), domain))
    assert custom_payloads(dispatcher) == []
    assert responses(dispatcher) == ["utter_intake_not_confirmed"]


def test_actions_only_use_responses_that_exist(domain: Any) -> None:
    from pathlib import Path

    import actions.intake as intake_module

    source = Path(intake_module.__file__).read_text(encoding="utf-8")
    names = set(re.findall(r"\"(utter_\w+)\"", source))
    assert names and names <= set(domain["responses"])
    assert {
        "validate_intake_form",
        "action_submit_intake",
        "action_handoff",
        "action_ask_intake_confirm",
        "action_clarify",
        "action_default_ask_affirmation",
    } <= set(domain["actions"])

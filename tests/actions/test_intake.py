from __future__ import annotations

from typing import Any

import pytest
from action_testing import custom_payloads, make_tracker, responses, run
from rasa_sdk.events import SlotSet

from actions.intake import ActionSubmitIntake, ValidateIntakeForm, parse_age, parse_service

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


@pytest.mark.parametrize("text", ["", "abc", "thirty four", "-3", "121", "1990", None, True])
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
    assert responses(dispatcher) == []


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


# --- submission -------------------------------------------------------------------------------


def test_submit_sends_signal_then_thanks_and_clears(dispatcher: Any, domain: Any) -> None:
    tracker = make_tracker(
        "16", slots={"intake_service": "return", "intake_age": 16.0, "intake_minor": True}
    )
    events = run(ActionSubmitIntake().run(dispatcher, tracker, domain))
    assert custom_payloads(dispatcher) == [
        {"intake_submitted": {"service": "return", "age": 16, "minor": True}}
    ]
    assert responses(dispatcher) == ["utter_intake_submitted"]
    # signal first, then the thank-you text
    assert dispatcher.messages[0]["custom"] and dispatcher.messages[1]["response"]
    assert events == [
        SlotSet("intake_service", None),
        SlotSet("intake_age", None),
        SlotSet("intake_minor", None),
    ]


def test_actions_only_use_responses_that_exist(domain: Any) -> None:
    names = {
        "utter_invalid_intake_service",
        "utter_invalid_intake_age",
        "utter_intake_submitted",
        "utter_handoff",
        "utter_ask_intake_service",
        "utter_ask_intake_age",
    }
    assert names <= set(domain["responses"])
    assert {"validate_intake_form", "action_submit_intake", "action_handoff"} <= set(
        domain["actions"]
    )
    assert domain["forms"]["intake_form"]["required_slots"] == ["intake_service", "intake_age"]

from __future__ import annotations

from typing import Any

import pytest
from action_testing import custom_payloads, make_tracker, responses, run
from rasa_sdk.events import ActiveLoop, ConversationPaused, SlotSet

from actions.handoff import ActionHandoff


def test_request_human_hands_off_and_pauses(dispatcher: Any, domain: Any) -> None:
    tracker = make_tracker("i want to talk to a person", intent="request_human")
    events = run(ActionHandoff().run(dispatcher, tracker, domain))

    assert responses(dispatcher) == ["utter_handoff"]
    assert custom_payloads(dispatcher) == [
        {"handoff": {"urgent": False, "reason": "request_human"}}
    ]
    assert events == [ConversationPaused()]


def test_urgent_safety_handoff_is_urgent(dispatcher: Any, domain: Any) -> None:
    tracker = make_tracker("help i am in danger", intent="urgent_safety")
    events = run(ActionHandoff().run(dispatcher, tracker, domain))

    # The person is still told what happens next (utter_urgent_safety only gives numbers).
    assert responses(dispatcher) == ["utter_handoff"]
    assert custom_payloads(dispatcher) == [{"handoff": {"urgent": True, "reason": "urgent_safety"}}]
    assert events[-1] == ConversationPaused()


@pytest.mark.parametrize("intent", ["delete_data", None])
def test_reason_is_the_latest_intent(dispatcher: Any, domain: Any, intent: Any) -> None:
    tracker = make_tracker("x", intent=intent)
    run(ActionHandoff().run(dispatcher, tracker, domain))
    handoff = custom_payloads(dispatcher)[0]["handoff"]
    assert handoff == {"urgent": False, "reason": intent or "unknown"}


def test_open_form_is_closed_before_pausing(dispatcher: Any, domain: Any) -> None:
    tracker = make_tracker("human", intent="request_human", active_loop="intake_form")
    events = run(ActionHandoff().run(dispatcher, tracker, domain))
    assert events == [ActiveLoop(None), SlotSet("requested_slot", None), ConversationPaused()]


def test_no_hard_coded_text(dispatcher: Any, domain: Any) -> None:
    run(ActionHandoff().run(dispatcher, make_tracker("x", intent="request_human"), domain))
    assert all(not m.get("text") for m in dispatcher.messages)

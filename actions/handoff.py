"""``action_handoff``: hand the conversation to a human counsellor."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActiveLoop, ConversationPaused, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

URGENT_INTENT = "urgent_safety"


def latest_intent(tracker: Tracker) -> str | None:
    """Name of the intent of the person's latest message, if any."""
    intent = (tracker.latest_message or {}).get("intent") or {}
    name = intent.get("name")
    return str(name) if name else None


class ActionHandoff(Action):
    """Tell the person what happens next, signal the gateway, and pause the conversation.

    The gateway treats the ``handoff`` JSON as the control signal: it opens or updates a ticket in
    the counsellor inbox and stops forwarding the person's messages to Rasa until a counsellor
    closes the handoff (the gateway then posts a ``resume`` event to the tracker).
    """

    def name(self) -> str:
        return "action_handoff"

    async def run(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> list[EventType]:
        reason = latest_intent(tracker) or "unknown"
        urgent = reason == URGENT_INTENT

        # Always say what happens next, also after utter_urgent_safety (which only gives numbers).
        dispatcher.utter_message(response="utter_handoff")
        handoff: dict[str, Any] = {"urgent": urgent, "reason": reason}
        dispatcher.utter_message(json_message={"handoff": handoff})

        events: list[EventType] = []
        if tracker.active_loop_name:
            # Defensive: the rules close the intake form first; never leave a form half-open.
            events += [ActiveLoop(None), SlotSet("requested_slot", None)]
        events.append(ConversationPaused())
        return events

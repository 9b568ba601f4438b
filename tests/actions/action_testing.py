"""Helpers to call rasa_sdk actions without a server: a Tracker factory and message filters."""

from __future__ import annotations

import asyncio
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.intake import INTAKE_SLOTS


def make_tracker(
    text: str = "",
    intent: str | None = None,
    confidence: float = 0.99,
    slots: dict[str, Any] | None = None,
    events: list[dict[str, Any]] | None = None,
    active_loop: str | None = None,
    lang: str = "en",
    ranking: list[tuple[str, float]] | None = None,
) -> Tracker:
    latest = {
        "text": text,
        "intent": {"name": intent, "confidence": confidence} if intent else {},
        "intent_ranking": [{"name": n, "confidence": c} for n, c in (ranking or [])],
        "entities": [],
        "metadata": {"lang": lang, "channel": "web"},
    }
    all_slots: dict[str, Any] = {name: None for name in INTAKE_SLOTS}
    all_slots.update({"intake_minor": None, "requested_slot": None})
    all_slots.update(slots or {})
    return Tracker(
        sender_id="test-sender",
        slots=all_slots,
        latest_message=latest,
        events=events or [],
        paused=False,
        followup_action=None,
        active_loop={"name": active_loop} if active_loop else {},
        latest_action_name="action_listen",
    )


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def responses(dispatcher: CollectingDispatcher) -> list[str]:
    """Names of the domain responses the action asked for, in order."""
    return [m["response"] for m in dispatcher.messages if m.get("response")]


def custom_payloads(dispatcher: CollectingDispatcher) -> list[dict[str, Any]]:
    return [m["custom"] for m in dispatcher.messages if m.get("custom")]

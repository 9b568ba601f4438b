"""Not understood: ``action_clarify`` (and ``action_default_ask_affirmation``, which Rasa's
two-stage fallback would otherwise answer in English only).

- First miss (``nlu_fallback``): ``utter_clarify`` with buttons to the 3 most likely topics from
  the message's ``intent_ranking``. Rasa appends an action's buttons verbatim to the reply the
  gateway rendered, so each title is taken here from the response ``utter_topic_<topic>`` in the
  person's language (``actions/catalog.py``); the payload ``/<topic>`` skips NLU.
- Second miss in a row: ``utter_fallback_offer_human`` (a "Talk to a person" button).
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import catalog
from actions.intake import lang_of

FALLBACK_INTENT = "nlu_fallback"
MAX_CHOICES = 3

# Topics a clarifying question may offer (each has utter_topic_<topic>). Greetings, thanks,
# out-of-scope and urgent messages are never offered as a "did you mean".
CLARIFY_TOPICS = (
    "return_info",
    "return_eligibility",
    "reintegration_support",
    "travel_documents",
    "return_special_needs",
    "detention",
    "family_reunification",
    "resettlement",
    "labour_market",
    "cd4d",
    "contact",
    "apply",
    "request_human",
    "change_language",
    "privacy",
    "delete_data",
)
# When the ranking offers fewer than three of them.
DEFAULT_CHOICES = ("return_info", "family_reunification", "request_human")


def _intent_name(parse_data: dict[str, Any] | None) -> str | None:
    intent = (parse_data or {}).get("intent") or {}
    name = intent.get("name")
    return str(name) if name else None


def previous_user_intent(tracker: Tracker) -> str | None:
    """Intent of the user message before the latest one (None if there is none)."""
    seen_latest = False
    for event in reversed(tracker.events or []):
        if event.get("event") != "user":
            continue
        if not seen_latest:
            seen_latest = True
            continue
        return _intent_name(event.get("parse_data"))
    return None


def candidate_topics(tracker: Tracker) -> list[str]:
    ranking = (tracker.latest_message or {}).get("intent_ranking") or []
    choices: list[str] = []
    for entry in ranking:
        name = entry.get("name")
        if name in CLARIFY_TOPICS and name not in choices:
            choices.append(str(name))
        if len(choices) == MAX_CHOICES:
            return choices
    for name in DEFAULT_CHOICES:
        if len(choices) == MAX_CHOICES:
            break
        if name not in choices:
            choices.append(name)
    return choices


class ActionClarify(Action):
    def name(self) -> str:
        return "action_clarify"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        if previous_user_intent(tracker) == FALLBACK_INTENT:
            dispatcher.utter_message(response="utter_fallback_offer_human")
            return []
        lang = lang_of(tracker)
        buttons = [
            {"title": catalog.text(f"utter_topic_{topic}", lang), "payload": f"/{topic}"}
            for topic in candidate_topics(tracker)
        ]
        dispatcher.utter_message(response="utter_clarify", buttons=buttons)
        return []


class ActionDefaultAskAffirmation(ActionClarify):
    """Replaces Rasa's English-only "Did you mean ...?" (two-stage fallback) with our own."""

    def name(self) -> str:
        return "action_default_ask_affirmation"

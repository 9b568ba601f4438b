"""Rasa's NLG callback with only what the gateway's NLG endpoint reads.

Rasa's own ``CallbackNaturalLanguageGenerator`` posts the whole conversation
(``tracker.current_state(EventVerbosity.ALL)``) for every reply, serialises it a second time for
a debug line even when debug is off, and validates each answer with jsonschema: behind the
gateway that cost Rasa about 8 ms of CPU per message, a third of a turn (docs/performance.md).
The gateway renders a reply from the response name, its arguments, the slots and the latest
message's intent and metadata (language, turn id), so this generator sends the same request
shape with a tracker holding just those. Configured in endpoints.yml as
``nlg: type: actions.nlg.CompactCallbackNLG``.
"""

from __future__ import annotations

from typing import Any

from rasa.core.constants import DEFAULT_REQUEST_TIMEOUT
from rasa.core.nlg.callback import CallbackNaturalLanguageGenerator
from rasa.shared.core.domain import Domain
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.exceptions import RasaException
from rasa.utils.endpoints import EndpointConfig


def compact_tracker(tracker: DialogueStateTracker) -> dict[str, Any]:
    latest = tracker.latest_message
    return {
        "sender_id": tracker.sender_id,
        "slots": tracker.current_slot_values(),
        "latest_message": {
            "intent": latest.intent if latest else {},
            "metadata": latest.metadata if latest else {},
        },
    }


class CompactCallbackNLG(CallbackNaturalLanguageGenerator):
    def __init__(self, endpoint_config: EndpointConfig, domain: Domain | None = None) -> None:
        super().__init__(endpoint_config)

    async def generate(
        self,
        utter_action: str,
        tracker: DialogueStateTracker,
        output_channel: str,
        **kwargs: Any,
    ) -> dict[str, Any]:
        domain_responses = kwargs.pop("domain_responses", None)
        response_id = self.fetch_response_id(
            utter_action, tracker, output_channel, domain_responses
        )
        body = {
            "response": utter_action,
            "id": response_id,
            "arguments": kwargs,
            "tracker": compact_tracker(tracker),
            "channel": {"name": output_channel},
        }
        response = await self.nlg_endpoint.request(
            method="post", json=body, timeout=DEFAULT_REQUEST_TIMEOUT
        )
        if isinstance(response, dict) and isinstance(response.get("text", ""), str | None):
            return response
        raise RasaException("NLG endpoint returned an invalid response.")

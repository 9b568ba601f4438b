"""Rasa's NLG callback with only what the gateway's NLG endpoint reads, over one kept connection.

Rasa's own ``CallbackNaturalLanguageGenerator`` posts the whole conversation
(``tracker.current_state(EventVerbosity.ALL)``) for every reply, serialises it a second time for
a debug line even when debug is off, and validates each answer with jsonschema; and its
``EndpointConfig.request`` opens a new HTTP session, so a new TCP connection, for every reply.
Behind the gateway that cost Rasa about 8 ms of CPU per message, a third of a turn
(docs/performance.md). The gateway renders a reply from the response name, its arguments, the
slots and the latest message's intent and metadata (language, turn id), so this generator sends
the same request shape with a tracker holding just those, on a keep-alive connection. Configured
in endpoints.yml as ``nlg: type: actions.nlg.CompactCallbackNLG``.
"""

from __future__ import annotations

from typing import Any

import aiohttp
from rasa.core.constants import DEFAULT_REQUEST_TIMEOUT
from rasa.core.nlg.callback import CallbackNaturalLanguageGenerator
from rasa.shared.core.domain import Domain
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.exceptions import RasaException
from rasa.utils.endpoints import EndpointConfig

# Below uvicorn's 5 s keep-alive, so Rasa never reuses a connection the gateway is closing.
KEEPALIVE_SECONDS = 4.0


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
        self._session: aiohttp.ClientSession | None = None

    def _http(self) -> aiohttp.ClientSession:
        # Made on first use, inside the event loop Rasa's server runs.
        if self._session is None or self._session.closed:
            config = self.nlg_endpoint
            auth = aiohttp.BasicAuth(**config.basic_auth) if config.basic_auth else None
            self._session = aiohttp.ClientSession(
                headers=config.headers,
                auth=auth,
                timeout=aiohttp.ClientTimeout(total=DEFAULT_REQUEST_TIMEOUT),
                connector=aiohttp.TCPConnector(keepalive_timeout=KEEPALIVE_SECONDS),
            )
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def _post(self, body: dict[str, Any]) -> Any:
        params = self.nlg_endpoint.combine_parameters()
        for attempt in (1, 2):
            try:
                async with self._http().post(
                    self.nlg_endpoint.url, json=body, params=params
                ) as response:
                    if response.status >= 400:
                        raise RasaException(f"NLG endpoint answered HTTP {response.status}.")
                    return await response.json()
            except aiohttp.ServerDisconnectedError:
                # A kept connection closed by the other side as we sent: once more on a new one.
                if attempt == 2:
                    raise
        return None

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
        response = await self._post(body)
        if isinstance(response, dict) and isinstance(response.get("text", ""), str | None):
            return response
        raise RasaException("NLG endpoint returned an invalid response.")

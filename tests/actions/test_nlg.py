"""The compact NLG callback: Rasa's request shape, with only the tracker parts the gateway reads,
posted to a real local HTTP endpoint."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Awaitable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.exceptions import RasaException
from rasa.utils.endpoints import EndpointConfig

from actions.nlg import CompactCallbackNLG

# Rasa's own warning, about 2.x domains
pytestmark = pytest.mark.filterwarnings("ignore:Slot auto-fill:UserWarning")

DOMAIN_YAML = (
    'version: "3.1"\n'
    "slots:\n  intake_country:\n    type: text\n    mappings:\n    - type: custom\n"
    "responses:\n  utter_ask_intake_country:\n  - text: Which country?\n"
)


@pytest.fixture
def endpoint() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """A stand-in for the gateway's /nlg: records each request, answers with a rendered text."""
    received: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as uvicorn serves the gateway

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            request = json.loads(body)
            request["_seen"] = {"client_port": self.client_address[1], "path": self.path}
            received.append(request)
            if request["response"] == "utter_broken":
                self.send_response(500)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            answer = json.dumps({"text": "Uit welk land komt u?"}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/nlg", received
    server.shutdown()
    server.server_close()


async def closing(nlg: CompactCallbackNLG, call: Awaitable[Any]) -> Any:
    try:
        return await call
    finally:
        await nlg.close()


def test_the_request_holds_what_the_gateway_reads_and_no_history(
    endpoint: tuple[str, list[dict[str, Any]]],
) -> None:
    url, received = endpoint
    domain = Domain.from_yaml(DOMAIN_YAML)
    history = [UserUttered(f"earlier message {n}", {"name": "greeting"}) for n in range(50)]
    tracker = DialogueStateTracker.from_events(
        "p0123",
        [
            *history,
            SlotSet("intake_country", "Eritrea"),
            UserUttered(
                "ik wil terug",
                {"name": "return_info", "confidence": 0.9},
                metadata={"lang": "nl", "turn": "t1"},
            ),
        ],
        domain.slots,
    )
    nlg = CompactCallbackNLG(endpoint_config=EndpointConfig(url), domain=domain)
    reply = asyncio.run(
        closing(
            nlg,
            nlg.generate(
                "utter_ask_intake_country", tracker, "whatsapp", domain_responses=domain.responses
            ),
        )
    )
    assert reply == {"text": "Uit welk land komt u?"}
    [request] = received
    assert request["response"] == "utter_ask_intake_country"
    assert request["channel"] == {"name": "whatsapp"}
    assert request["tracker"]["slots"]["intake_country"] == "Eritrea"
    latest = request["tracker"]["latest_message"]
    assert latest["intent"]["name"] == "return_info"
    assert latest["metadata"] == {"lang": "nl", "turn": "t1"}
    assert "events" not in request["tracker"]  # not the whole conversation
    assert "earlier message" not in json.dumps(request)


def test_replies_share_one_kept_connection_and_send_the_token(
    endpoint: tuple[str, list[dict[str, Any]]],
) -> None:
    """Rasa's own callback opens a connection per reply; ours keeps one."""
    url, received = endpoint
    domain = Domain.from_yaml(DOMAIN_YAML)
    tracker = DialogueStateTracker.from_events(
        "p0123", [UserUttered("hallo", {"name": "greeting"})], domain.slots
    )
    nlg = CompactCallbackNLG(endpoint_config=EndpointConfig(url, token="s3cret"), domain=domain)

    async def three_replies() -> list[dict[str, Any]]:
        return [
            await nlg.generate("utter_ask_intake_country", tracker, "whatsapp") for _ in range(3)
        ]

    assert asyncio.run(closing(nlg, three_replies())) == [{"text": "Uit welk land komt u?"}] * 3
    assert len({r["_seen"]["client_port"] for r in received}) == 1
    assert all(r["_seen"]["path"] == "/nlg?token=s3cret" for r in received)


def test_an_endpoint_error_fails_the_reply(endpoint: tuple[str, list[dict[str, Any]]]) -> None:
    """Rasa then answers without this reply and saves nothing; the gateway runs the turn again."""
    url, _ = endpoint
    domain = Domain.from_yaml(DOMAIN_YAML)
    tracker = DialogueStateTracker.from_events("p0123", [], domain.slots)
    nlg = CompactCallbackNLG(endpoint_config=EndpointConfig(url), domain=domain)

    with pytest.raises(RasaException, match="HTTP 500"):
        asyncio.run(closing(nlg, nlg.generate("utter_broken", tracker, "whatsapp")))

"""A fake Rasa server: its REST channel answers every turn at once with one reply, as Rasa does
with the gateway's NLG endpoint (the reply carries the turn's intent and id). For measuring
everything around Rasa without Rasa's own cost and noise (``baken bench worker``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .server import Call, FakeServer

REPLY = (
    "IOM can help you return voluntarily: a counsellor explains the steps, the travel and the "
    "support after return. Would you like to talk to a counsellor?"
)


@dataclass
class FakeRasa(FakeServer):
    intent: str = "return_info"

    def answer(self, call: Call) -> tuple[int, Any]:
        if call.method == "POST" and call.path == "/webhooks/rest/webhook":
            body = call.json or {}
            turn = (body.get("metadata") or {}).get("turn")
            custom = {"intent": self.intent, "turn": turn}
            return 200, [{"recipient_id": body.get("sender"), "text": REPLY, "custom": custom}]
        if call.path == "/status":
            return 200, {"model_id": "fake", "model_file": "fake.tar.gz"}
        return 404, {"error": "not faked"}

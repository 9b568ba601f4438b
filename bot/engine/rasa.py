"""The only place that talks to the Rasa server (REST channel + HTTP API, over HTTP only)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import httpx

from bot.messages import Button, Reply
from bot.metrics import RASA_CALL, timed

NLG_KEYS = {"intent", "turn"}  # what our NLG endpoint adds to each reply


class RasaUnavailable(RuntimeError):
    """Rasa did not answer (down, loading, slow or erroring): the message waits and is retried."""


@dataclass(frozen=True)
class RasaTurn:
    replies: list[Reply]
    # Custom JSON from actions: {"handoff": …}, {"intake_submitted": …}.
    signals: list[dict[str, Any]]
    intent: str | None = None


def _call_name(path: str) -> str:
    """A fixed name for the latency metric; never the path itself (it holds the sender id)."""
    if path.startswith("/webhooks/"):
        return "message"
    if path.endswith("/tracker/events"):
        return "resume"
    if path.endswith("/tracker"):
        return "tracker"
    return {"/status": "status", "/model/parse": "parse"}.get(path, "other")


class RasaClient:
    def __init__(self, base_url: str, token: str, timeout: float = 30.0) -> None:
        self._token = token
        self._http = httpx.Client(base_url=base_url, timeout=timeout)

    def close(self) -> None:
        self._http.close()

    def _request(self, method: str, path: str, **kwargs: Any) -> Any:
        with timed(RASA_CALL, _call_name(path)):
            try:
                response = self._http.request(method, path, **kwargs)
            except httpx.HTTPError as exc:
                raise RasaUnavailable(type(exc).__name__) from exc
            if response.status_code >= 400:
                raise RasaUnavailable(f"HTTP {response.status_code}")
            return response.json()

    def send(self, sender_id: str, text: str, *, lang: str, channel: str) -> RasaTurn:
        """Run one user turn through Rasa; what it understood comes with the replies."""
        turn = uuid.uuid4().hex  # identifies this turn in the NLG request and the tracker
        body = {
            "sender": sender_id,
            "message": text,
            "metadata": {"lang": lang, "channel": channel, "turn": turn},
            "input_channel": channel,
        }
        items = self._request("POST", "/webhooks/rest/webhook", json=body)
        replies: list[Reply] = []
        signals: list[dict[str, Any]] = []
        intent: str | None = None
        for item in items:
            custom = item.get("custom")
            if isinstance(custom, dict) and "intent" in custom and set(custom) <= NLG_KEYS:
                if custom.get("turn") == turn:
                    intent = str(custom["intent"])  # added to each reply by our NLG endpoint
            elif isinstance(custom, dict):
                signals.append(custom)
            if item.get("text"):
                buttons = tuple(
                    Button(title=str(b.get("title", "")), payload=str(b.get("payload", "")))
                    for b in item.get("buttons") or []
                )
                replies.append(Reply(text=item["text"], buttons=buttons))
        if intent is None:  # no reply rendered for this turn: check it in the tracker
            intent = self._checked_intent(sender_id, turn, answered=bool(replies))
        return RasaTurn(replies=replies, signals=signals, intent=intent)

    def _checked_intent(self, sender_id: str, turn: str, *, answered: bool) -> str | None:
        """The intent of ``turn`` from the tracker; raises if Rasa did not save the turn.

        Rasa's REST channel answers 200 even when the turn failed inside it (its tracker store or
        the NLG endpoint down) and then saved nothing: such a turn is run again. A turn that did
        answer is never repeated just to learn its intent."""
        try:
            tracker = self.tracker(sender_id)
        except RasaUnavailable:
            if not answered:
                raise
            return None
        latest = tracker.get("latest_message") or {}
        if (latest.get("metadata") or {}).get("turn") != turn:
            raise RasaUnavailable("turn not saved")
        name = (latest.get("intent") or {}).get("name")
        return str(name) if name else None

    def tracker(self, sender_id: str) -> dict[str, Any]:
        result: dict[str, Any] = self._request(
            "GET",
            f"/conversations/{sender_id}/tracker",
            params={"include_events": "NONE", "token": self._token},
        )
        return result

    def resume(self, sender_id: str) -> None:
        """Resume a conversation paused by a handoff: the bot answers this person again.

        The pause stopped Rasa right after the handoff action, before it listened; the
        ``action_listen`` puts the tracker back where a new user message is expected."""
        self._request(
            "POST",
            f"/conversations/{sender_id}/tracker/events",
            params={"token": self._token},
            json=[{"event": "resume"}, {"event": "action", "name": "action_listen"}],
        )

    def parse(self, text: str) -> dict[str, Any]:
        result: dict[str, Any] = self._request(
            "POST", "/model/parse", params={"token": self._token}, json={"text": text}
        )
        return result

    def ready(self) -> bool:
        """True when the server answers and has a model loaded."""
        try:
            status = self._request("GET", "/status", params={"token": self._token})
        except RasaUnavailable:
            return False
        return bool(status.get("model_id") or status.get("model_file"))

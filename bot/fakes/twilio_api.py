"""A fake Twilio REST API: the Messages resource as twilio-python calls it."""

from __future__ import annotations

import itertools
import random
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from .server import Call, FakeServer

ACCOUNT_SID = "AC" + "f" * 32
AUTH_TOKEN = "fake-auth-token-for-tests"  # noqa: S105 (a fake account, not a secret)


def twilio_error(status: int, code: int, message: str) -> tuple[int, dict[str, Any]]:
    """The error body Twilio returns (twilio-python reads code and message from it)."""
    return status, {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }


# What Twilio answers when it cannot take a message now (a retry later succeeds).
OUTAGES = (
    (500, 20500, "Internal Server Error"),
    (503, 20503, "Service Unavailable"),
    (429, 20429, "Too Many Requests"),
)


@dataclass
class FakeTwilio(FakeServer):
    _sids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    created: list[dict[str, Any]] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    # Share of message creations refused with one of OUTAGES (seeded dice); one message is
    # refused at most twice, so a test does not wait out a long chain of retry backoffs.
    failure_rate: float = 0.0
    _dice: random.Random = field(default_factory=lambda: random.Random(8))
    # Seconds each message creation takes, as the real API's round trip (benchmarks); each
    # request has a thread of its own, so sends in flight overlap as they would at Twilio.
    latency: float = 0.0
    most_in_flight: int = 0  # the most creations answered at the same time
    _in_flight: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _refused: Counter[tuple[str, str]] = field(default_factory=Counter)

    def answer(self, call: Call) -> tuple[int, dict[str, Any]]:
        if call.method == "DELETE":
            return self._delete(call)
        if not call.path.endswith("/Messages.json"):
            return 404, {"code": 20404, "message": "not found", "status": 404}
        if call.method == "GET":
            return 200, self._page(call.query.get("To"))
        if not call.form.get("To"):
            return twilio_error(400, 21604, "A 'To' phone number is required.")
        message = (call.form["To"], call.form.get("Body", ""))
        if self.latency:
            with self._lock:
                self._in_flight += 1
                self.most_in_flight = max(self.most_in_flight, self._in_flight)
            time.sleep(self.latency)
            with self._lock:
                self._in_flight -= 1
        if self._refused[message] < 2 and self._dice.random() < self.failure_rate:
            self._refused[message] += 1
            return twilio_error(*self._dice.choice(OUTAGES))
        resource = self._create(call)
        self.created.append(resource)
        return 201, resource

    def _delete(self, call: Call) -> tuple[int, dict[str, Any]]:
        """DELETE …/Messages/{sid}.json: 204 once (with its media), then 404 like Twilio."""
        sid = call.path.rsplit("/", 1)[-1].removesuffix(".json")
        if not sid.startswith(("SM", "MM")) or sid in self.deleted:
            return twilio_error(404, 20404, "The requested resource was not found")
        self.deleted.append(sid)
        return 204, {}

    def _page(self, to: str | None) -> dict[str, Any]:
        """Messages.json list, newest first, filtered by To like Twilio's."""
        found = [m for m in reversed(self.created) if to is None or m["to"] == to]
        uri = f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
        return {
            "messages": found,
            "end": max(len(found) - 1, 0),
            "first_page_uri": uri,
            "next_page_uri": None,
            "page": 0,
            "page_size": 50,
            "previous_page_uri": None,
            "start": 0,
            "uri": uri,
        }

    def _create(self, call: Call) -> dict[str, Any]:
        sid = f"SM{next(self._sids):032x}"
        now = datetime.now(UTC).strftime("%a, %d %b %Y %H:%M:%S +0000")
        return {
            "account_sid": ACCOUNT_SID,
            "api_version": "2010-04-01",
            "body": call.form.get("Body", ""),
            "date_created": now,
            "date_sent": None,
            "date_updated": now,
            "direction": "outbound-api",
            "error_code": None,
            "error_message": None,
            "from": call.form.get("From"),
            "messaging_service_sid": call.form.get("MessagingServiceSid"),
            "num_media": "0",
            "num_segments": "1",
            "price": None,
            "price_unit": "USD",
            "sid": sid,
            "status": "queued",
            "subresource_uris": {
                "media": f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/{sid}/Media.json"
            },
            "to": call.form.get("To"),
            "uri": f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/{sid}.json",
        }

    def messages(self) -> list[dict[str, str]]:
        return [c.form for c in self.sent("/Messages.json")]

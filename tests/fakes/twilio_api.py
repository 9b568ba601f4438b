"""A fake Twilio REST API: the Messages resource as twilio-python calls it."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from .server import Call, FakeServer

ACCOUNT_SID = "AC" + "f" * 32
AUTH_TOKEN = "fake-auth-token-for-tests"


def twilio_error(status: int, code: int, message: str) -> tuple[int, dict[str, Any]]:
    """The error body Twilio returns (twilio-python reads code and message from it)."""
    return status, {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }


@dataclass
class FakeTwilio(FakeServer):
    _sids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def answer(self, call: Call) -> tuple[int, dict[str, Any]]:
        if call.method != "POST" or not call.path.endswith("/Messages.json"):
            return 404, {"code": 20404, "message": "not found", "status": 404}
        sid = f"SM{next(self._sids):032x}"
        now = datetime.now(UTC).strftime("%a, %d %b %Y %H:%M:%S +0000")
        return 201, {
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

"""What WhatsApp and SMS through Twilio share: a REST client per thread pointed at
``BAKEN_TWILIO_API_BASE``, signature checks with twilio's ``RequestValidator`` and the parsing
of Twilio's inbound webhook into ``InboundMessage``."""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import requests
from twilio.base.exceptions import TwilioRestException
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from bot.channels import SendResult
from bot.errors import PermanentSendError, TemporarySendError
from bot.messages import InboundMessage
from bot.urn import normalize

# Twilio error codes that will not change on a retry: opted out, invalid or unreachable number,
# outside the WhatsApp window, template problems, blocked.
PERMANENT_CODES = {21211, 21408, 21610, 21614, 30003, 30004, 30005, 30006, 30007, 63016, 63024}


class Pacer:
    """Keeps sends at ``rate`` per second on average (Twilio's per-sender MPS): a token bucket
    holding a tenth of a second's worth, so a late wake-up is made up for, not lost."""

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self.capacity = max(1.0, rate / 10)
        self._tokens = self.capacity
        self._last = time.monotonic()
        self._lock = threading.Lock()

    def wait(self) -> None:
        if self.rate <= 0:
            return
        with self._lock:
            now = time.monotonic()
            self._tokens = min(self.capacity, self._tokens + (now - self._last) * self.rate)
            self._last = now
            self._tokens -= 1.0
            delay = -self._tokens / self.rate if self._tokens < 0 else 0.0
        if delay > 0:
            time.sleep(delay)


class TwilioAccount:
    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        api_base: str,
        status_callback: str | None,
        mps: float = 10.0,
    ) -> None:
        self._credentials = (account_sid, auth_token)
        self._api_base = api_base.rstrip("/")
        self._local = threading.local()
        self.validator = RequestValidator(auth_token)
        self.status_callback = status_callback
        self.pacer = Pacer(mps)

    @property
    def client(self) -> Client:
        """This thread's client: every inbound loop sends, and twilio's client (a
        ``requests.Session`` inside) is not safe to share between threads (twilio-python#580)."""
        client: Client | None = getattr(self._local, "client", None)
        if client is None:
            client = self._local.client = Client(*self._credentials)
            client.api.base_url = self._api_base
        return client

    def verify(self, url: str, params: Mapping[str, Any], signature: str) -> bool:
        return bool(signature) and bool(self.validator.validate(url, params, signature))

    def create(self, **fields: Any) -> SendResult:
        if self.status_callback:
            fields["status_callback"] = self.status_callback
        self.pacer.wait()
        try:
            message = self.client.messages.create(**fields)
        except TwilioRestException as exc:
            code = str(exc.code or exc.status)
            if exc.status == 429 or exc.status >= 500:
                raise TemporarySendError(code) from exc
            if exc.code in PERMANENT_CODES or 400 <= exc.status < 500:
                raise PermanentSendError(code) from exc
            raise TemporarySendError(code) from exc
        except requests.RequestException as exc:
            raise TemporarySendError(type(exc).__name__) from exc
        return SendResult(provider_id=message.sid)

    def delete(self, sid: str) -> None:
        """Delete a message and its media at Twilio (erasure); one already gone counts."""
        try:
            self.client.messages(sid).delete()
        except TwilioRestException as exc:
            if exc.status == 404:
                return
            raise TemporarySendError(str(exc.code or exc.status)) from exc
        except requests.RequestException as exc:
            raise TemporarySendError(type(exc).__name__) from exc

    def find_sent(self, to: str, since: datetime, body: str | None) -> str | None:
        """The SID of a message Twilio already accepted (a worker died before recording it)."""
        try:
            recent = self.client.messages.list(
                to=to, date_sent_after=since - timedelta(minutes=1), limit=50
            )
        except (TwilioRestException, requests.RequestException) as exc:
            raise TemporarySendError("lookup-failed") from exc
        for message in recent:
            if body is None or message.body == body:
                return str(message.sid)
        return None


def parse_inbound(params: Mapping[str, str]) -> InboundMessage:
    """Twilio's inbound message webhook (form fields) → InboundMessage. Raises ValueError."""
    sender = params.get("From", "")
    sid = params.get("MessageSid") or params.get("SmsSid") or ""
    if not sender or not sid:
        raise ValueError("From and MessageSid are required")
    channel = "whatsapp" if sender.startswith("whatsapp:") else "sms"
    phone = sender.removeprefix("whatsapp:")
    media = []
    for index in range(min(int(params.get("NumMedia", "0") or 0), 10)):
        url = params.get(f"MediaUrl{index}")
        if url:
            media.append({"url": url, "type": params.get(f"MediaContentType{index}", "")})
    body = params.get("Body", "").strip()
    return InboundMessage(
        urn=normalize(f"{channel}:{phone}"),
        channel=channel,
        channel_message_id=sid,
        received_at=datetime.now(UTC),
        text=body or None,
        payload=params.get("ButtonPayload") or None,
        media=media,
        raw={k: v for k, v in params.items() if k in ("NumSegments", "NumMedia", "OptOutType")},
    )

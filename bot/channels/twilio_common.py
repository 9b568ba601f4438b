"""What WhatsApp and SMS through Twilio share: one REST client pointed at
``BAKEN_TWILIO_API_BASE``, signature checks with twilio's ``RequestValidator`` and the parsing
of Twilio's inbound webhook into ``InboundMessage``."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
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


class TwilioAccount:
    def __init__(
        self, account_sid: str, auth_token: str, api_base: str, status_callback: str | None
    ) -> None:
        self.client = Client(account_sid, auth_token)
        self.client.api.base_url = api_base.rstrip("/")
        self.validator = RequestValidator(auth_token)
        self.status_callback = status_callback

    def verify(self, url: str, params: Mapping[str, Any], signature: str) -> bool:
        return bool(signature) and bool(self.validator.validate(url, params, signature))

    def create(self, **fields: Any) -> SendResult:
        if self.status_callback:
            fields["status_callback"] = self.status_callback
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

"""The one normalised inbound type every channel produces, and the reply type the engine returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class InboundMessage:
    urn: str  # normalised contact URN
    channel: str  # web, telegram, whatsapp, sms
    channel_message_id: str  # the provider's id: unique per channel (idempotency)
    received_at: datetime
    text: str | None = None
    payload: str | None = None  # a pressed button's payload
    media: list[dict[str, str]] = field(default_factory=list)
    lang: str | None = None  # an explicit language choice sent with the message
    raw: dict[str, Any] = field(default_factory=dict, repr=False)


@dataclass(frozen=True)
class Button:
    title: str
    payload: str


@dataclass(frozen=True)
class Reply:
    text: str
    buttons: tuple[Button, ...] = ()

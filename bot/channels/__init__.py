"""Channel adapters: each only verifies, parses inbound into ``InboundMessage`` and sends.

No business logic lives here; the pipeline decides what happens to a message.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from bot.messages import Reply


@dataclass(frozen=True)
class Capabilities:
    buttons: bool
    templates: bool
    media: bool
    max_length: int


@dataclass(frozen=True)
class SendResult:
    provider_id: str | None
    channel: str | None = None  # set when the message went out on another channel (SMS fallback)


@dataclass(frozen=True)
class Outgoing:
    """One outbox row as a channel sees it."""

    message_id: int
    address: str  # the channel URN to send to, e.g. whatsapp:+316…, telegram:123
    reply: Reply
    lang: str
    template: str | None = None  # the approved template to use outside the WhatsApp window
    window_open: bool = True  # WhatsApp: the person wrote within the last 24 hours
    sms_allowed: bool = False  # the person agreed to SMS and has not opted out


class Channel(Protocol):
    name: str
    capabilities: Capabilities

    def send(self, out: Outgoing) -> SendResult:
        """Deliver one message; raise a SendError subclass on failure."""
        ...


def numbered(reply: Reply) -> str:
    """Text with its buttons as numbered options, for channels without buttons (SMS, WhatsApp)."""
    if not reply.buttons:
        return reply.text
    options = "\n".join(f"{i}. {b.title}" for i, b in enumerate(reply.buttons, start=1))
    return f"{reply.text}\n\n{options}"


class ChannelRegistry:
    def __init__(self) -> None:
        self._channels: dict[str, Channel] = {}

    def register(self, channel: Channel) -> None:
        if channel.name in self._channels:
            raise ValueError(f"channel {channel.name!r} registered twice")
        self._channels[channel.name] = channel

    def get(self, name: str) -> Channel | None:
        return self._channels.get(name)

    @property
    def names(self) -> list[str]:
        return sorted(self._channels)

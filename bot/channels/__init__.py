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


class Channel(Protocol):
    name: str
    capabilities: Capabilities

    def send(self, urn: str, reply: Reply) -> SendResult:
        """Deliver one reply; raise TemporarySendError or PermanentSendError on failure."""
        ...


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

"""The web channel: the chat API used to try the bot. Replies are delivered by being available
to the client (in the POST response and through GET /api/chat/{session}/messages)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from pydantic import BaseModel, Field

from bot.channels import Capabilities, Outgoing, SendResult
from bot.messages import InboundMessage
from bot.urn import normalize


class ChatRequest(BaseModel):
    text: str = Field(min_length=1, max_length=4096)
    lang: str | None = Field(default=None, pattern=r"^[a-z]{2,3}$")
    id: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_-]{1,64}$")  # client id: retries


class WebChannel:
    name = "web"
    capabilities = Capabilities(buttons=True, templates=False, media=False, max_length=4096)

    def parse_inbound(self, session: str, body: ChatRequest) -> InboundMessage:
        text = body.text.strip()
        payload = text if text.startswith("/") else None
        return InboundMessage(
            urn=normalize(f"web:{session}"),
            channel=self.name,
            channel_message_id=f"{session}:{body.id or uuid.uuid4().hex}",
            received_at=datetime.now(UTC),
            text=None if payload else text,
            payload=payload,
            lang=body.lang,
        )

    def send(self, out: Outgoing) -> SendResult:
        return SendResult(provider_id=None)

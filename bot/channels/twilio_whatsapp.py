"""WhatsApp through Twilio. Buttons become numbered options (interactive buttons need templates
approved in advance); outside the 24-hour window only approved templates (``content_sid``) go."""

from __future__ import annotations

import json
from datetime import datetime

from bot.channels import Capabilities, Outgoing, SendResult, numbered
from bot.channels.twilio_common import TwilioAccount
from bot.errors import PermanentSendError


class TwilioWhatsApp:
    name = "whatsapp"
    capabilities = Capabilities(buttons=False, templates=True, media=True, max_length=1600)

    def __init__(
        self, account: TwilioAccount, sender: str, templates: dict[str, dict[str, str]]
    ) -> None:
        self.account = account
        self.sender = sender if sender.startswith("whatsapp:") else f"whatsapp:{sender}"
        self.templates = templates

    def send(self, out: Outgoing) -> SendResult:
        if out.template and not out.window_open:
            content_sid = self.templates.get(out.template, {}).get(out.lang)
            if not content_sid:
                raise PermanentSendError("no-template")
            return self.account.create(
                to=out.address,
                from_=self.sender,
                content_sid=content_sid,
                content_variables=json.dumps({"1": out.reply.text[:1000]}),
            )
        text = numbered(out.reply)[: self.capabilities.max_length]
        return self.account.create(to=out.address, from_=self.sender, body=text)

    def find_sent(self, out: Outgoing, since: datetime) -> str | None:
        body = (
            None
            if out.template and not out.window_open
            else numbered(out.reply)[: self.capabilities.max_length]
        )
        return self.account.find_sent(out.address, since, body)

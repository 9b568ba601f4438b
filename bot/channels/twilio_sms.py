"""SMS through Twilio: plain text, buttons as numbered options, a sender number or a Messaging
Service. Opt-out keywords are handled by the pipeline before any understanding."""

from __future__ import annotations

from datetime import datetime

from bot.channels import Capabilities, Outgoing, SendResult, numbered
from bot.channels.twilio_common import TwilioAccount


class TwilioSMS:
    name = "sms"
    # 1600 characters is Twilio's limit; the content keeps SMS replies far shorter (segments cost).
    capabilities = Capabilities(buttons=False, templates=False, media=False, max_length=1600)

    def __init__(self, account: TwilioAccount, sender: str, messaging_service_sid: str) -> None:
        self.account = account
        self.sender = sender
        self.messaging_service_sid = messaging_service_sid

    def send(self, out: Outgoing) -> SendResult:
        origin = (
            {"messaging_service_sid": self.messaging_service_sid}
            if self.messaging_service_sid
            else {"from_": self.sender}
        )
        text = numbered(out.reply)[: self.capabilities.max_length]
        return self.account.create(to=out.address.removeprefix("sms:"), body=text, **origin)

    def find_sent(self, out: Outgoing, since: datetime) -> str | None:
        body = numbered(out.reply)[: self.capabilities.max_length]
        return self.account.find_sent(out.address.removeprefix("sms:"), since, body)

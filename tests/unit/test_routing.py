"""The sender's routing rules: opted-out SMS, the WhatsApp 24-hour window, SMS fallback."""

from __future__ import annotations

import pytest

from bot.channels import Capabilities, ChannelRegistry, Outgoing, SendResult
from bot.errors import PermanentSendError
from bot.messages import Reply
from bot.sender import Sender


class Provider:
    capabilities = Capabilities(buttons=False, templates=True, media=False, max_length=1600)

    def __init__(self, name: str) -> None:
        self.name = name

    def send(self, out: Outgoing) -> SendResult:
        return SendResult(provider_id="x")


def sender(*names: str) -> Sender:
    channels = ChannelRegistry()
    for name in names:
        channels.register(Provider(name))
    return Sender(None, channels, templates={"reply_waiting": {"en": "HX1"}})  # type: ignore[arg-type]


def out(**changes: object) -> Outgoing:
    base = Outgoing(message_id=1, address="whatsapp:+31600000001", reply=Reply("hi"), lang="en")
    return Outgoing(**{**base.__dict__, **changes})  # type: ignore[arg-type]


def test_inside_the_window_whatsapp_goes_free_form() -> None:
    route = sender("whatsapp").route("whatsapp", out(), opted_out=False)
    assert (route.channel, route.out.template) == ("whatsapp", None)


def test_outside_the_window_a_configured_template_is_used() -> None:
    route = sender("whatsapp").route("whatsapp", out(window_open=False), opted_out=False)
    assert (route.channel, route.out.template) == ("whatsapp", "reply_waiting")


def test_outside_the_window_without_template_sms_with_consent() -> None:
    route = sender("whatsapp", "sms").route(
        "whatsapp", out(window_open=False, lang="nl", sms_allowed=True), opted_out=False
    )
    assert route.channel == "sms"
    assert route.out.address == "sms:+31600000001"


def test_outside_the_window_without_template_or_consent_is_refused() -> None:
    with pytest.raises(PermanentSendError, match="window-closed"):
        sender("whatsapp", "sms").route("whatsapp", out(window_open=False, lang="nl"), False)


def test_no_sms_to_an_opted_out_number() -> None:
    with pytest.raises(PermanentSendError, match="opted-out"):
        sender("sms").route("sms", out(address="sms:+31600000001"), opted_out=True)

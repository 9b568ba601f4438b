"""Erasure reaches Twilio: the person's messages (and so their media) are deleted there too, with
retries, through the real twilio client against the fake Twilio API."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from bot.channels.twilio_common import TwilioAccount
from bot.fakes.twilio_api import ACCOUNT_SID, AUTH_TOKEN, FakeTwilio, twilio_error
from bot.privacy.providers import ProviderCleanup
from bot.privacy.subject import erase
from bot.services import Services
from bot.storage.models import Author, Direction, InStatus, Message, OutStatus, ProviderDeletion
from bot.storage.repo import get_or_create_contact, open_conversation

NOW = datetime(2027, 1, 1, tzinfo=UTC)
INBOUND_SID = "SM" + "a" * 32
REPLY_SID = "SM" + "b" * 32
VOICE_SID = "MM" + "c" * 32


@pytest.fixture
def twilio() -> Iterator[FakeTwilio]:
    fake = FakeTwilio().start()
    yield fake
    fake.stop()


def account(fake: FakeTwilio) -> TwilioAccount:
    return TwilioAccount(ACCOUNT_SID, AUTH_TOKEN, fake.url, status_callback=None)


def whatsapp_person(svc: Services) -> None:
    """Someone who wrote on WhatsApp (a text and a voice note), got a reply, then used the web."""
    with svc.sessions.begin() as db:
        contact = get_or_create_contact(db, svc.keys, "whatsapp:+31612345678")
        conversation = open_conversation(db, contact)
        rows = [
            (Direction.IN, InStatus.HANDLED, "whatsapp", INBOUND_SID),
            (Direction.IN, InStatus.HANDLED, "whatsapp", VOICE_SID),
            (Direction.OUT, OutStatus.DELIVERED, "whatsapp", REPLY_SID),
            (Direction.OUT, OutStatus.QUEUED, "whatsapp", None),  # never reached Twilio
            (Direction.IN, InStatus.HANDLED, "web", "w1:abc"),  # not Twilio's
        ]
        for direction, status, channel, provider_id in rows:
            db.add(
                Message(
                    direction=direction,
                    status=status,
                    author=Author.PERSON if direction == Direction.IN else Author.BOT,
                    conversation_id=conversation.id,
                    contact_id=contact.id,
                    channel=channel,
                    channel_message_id=provider_id,
                    text="words",
                )
            )


def erase_person(svc: Services) -> None:
    with svc.sessions.begin() as db:
        erase(db, svc.keys, "whatsapp:+31612345678", None, "operator")


def queued(svc: Services) -> list[ProviderDeletion]:
    with svc.sessions() as db:
        return list(db.scalars(select(ProviderDeletion).order_by(ProviderDeletion.id)))


def test_erasure_deletes_the_messages_at_twilio(services: Services, twilio: FakeTwilio) -> None:
    whatsapp_person(services)
    erase_person(services)
    assert {row.provider_id for row in queued(services)} == {INBOUND_SID, VOICE_SID, REPLY_SID}
    assert ProviderCleanup(services.sessions, account(twilio)).run(NOW) == 3
    assert sorted(twilio.deleted) == sorted([INBOUND_SID, VOICE_SID, REPLY_SID])
    deletes = [c for c in twilio.calls if c.method == "DELETE"]
    assert all(c.path.startswith(f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/") for c in deletes)
    assert queued(services) == []


def test_a_failing_twilio_is_retried_later_and_gone_counts_as_done(
    services: Services, twilio: FakeTwilio
) -> None:
    whatsapp_person(services)
    erase_person(services)
    twilio.deleted.append(VOICE_SID)  # already deleted at Twilio: its 404 is success
    twilio.fail_next.append(twilio_error(500, 20500, "Internal Server Error"))
    cleanup = ProviderCleanup(services.sessions, account(twilio))
    assert cleanup.run(NOW) == 2
    [waiting] = queued(services)
    assert waiting.attempts == 1
    assert waiting.next_attempt_at > NOW
    assert cleanup.run(NOW + timedelta(seconds=1)) == 0  # not due yet
    assert cleanup.run(waiting.next_attempt_at) == 1
    assert queued(services) == []


def test_without_twilio_configured_the_deletions_wait(services: Services) -> None:
    whatsapp_person(services)
    erase_person(services)
    assert ProviderCleanup(services.sessions, None).run(NOW) == 0
    assert len(queued(services)) == 3

"""The outbox: delivered in order per conversation; temporary failures retried, permanent ones
recorded. The failing channels here stand in for a provider, not for our own code."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from bot import consent
from bot.channels import Capabilities, Outgoing, SendResult
from bot.errors import PermanentSendError, TemporarySendError
from bot.messages import InboundMessage
from bot.sender import Sender
from bot.services import Services
from bot.storage.models import Author, Direction, Message, OutStatus
from bot.storage.repo import get_or_create_contact, open_conversation, store_inbound


@dataclass
class ScriptedChannel:
    """A provider that answers each send with the next scripted outcome."""

    name: str
    outcomes: list[Exception | None]
    sent: list[str] = field(default_factory=list)
    capabilities: Capabilities = field(
        default_factory=lambda: Capabilities(
            buttons=False, templates=False, media=False, max_length=1600
        )
    )

    def send(self, out: Outgoing) -> SendResult:
        outcome = self.outcomes.pop(0) if self.outcomes else None
        if outcome is not None:
            raise outcome
        self.sent.append(out.reply.text)
        return SendResult(provider_id=f"SM{len(self.sent)}")


def queue(svc: Services, channel: str, texts: list[str]) -> list[int]:
    with svc.sessions.begin() as db:
        urn = "telegram:4242" if channel == "telegram" else f"{channel}:+31612345678"
        contact = get_or_create_contact(db, svc.keys, urn)
        conversation = open_conversation(db, contact)
        rows = [
            Message(
                direction=Direction.OUT,
                status=OutStatus.QUEUED,
                author=Author.BOT,
                conversation_id=conversation.id,
                contact_id=contact.id,
                channel=channel,
                text=t,
            )
            for t in texts
        ]
        db.add_all(rows)
        db.flush()
        return [r.id for r in rows]


def status(svc: Services, message_id: int) -> Message:
    with svc.sessions() as db:
        return db.get_one(Message, message_id)


def test_sends_in_order_and_records_provider_id(services: Services) -> None:
    channel = ScriptedChannel("sms", [])
    services.channels.register(channel)
    first, second = queue(services, "sms", ["one", "two"])
    while services.sender.send_next():
        pass
    assert channel.sent == ["one", "two"]
    assert status(services, first).status == OutStatus.SENT
    assert status(services, first).channel_message_id == "SM1"
    assert status(services, second).channel_message_id == "SM2"


def test_temporary_failure_is_retried_later_and_blocks_the_next(services: Services) -> None:
    channel = ScriptedChannel("sms", [TemporarySendError("HTTP 503")])
    services.channels.register(channel)
    first, second = queue(services, "sms", ["one", "two"])
    assert services.sender.send_next() is True
    failed = status(services, first)
    assert failed.status == OutStatus.ERRORED
    assert failed.error == "HTTP 503"
    assert failed.next_attempt_at is not None
    assert services.sender.send_next() is False  # "two" must not overtake "one"
    assert status(services, second).status == OutStatus.QUEUED


@dataclass
class SlowChannel(ScriptedChannel):
    """A provider so slow that the send's lease runs out: ``meanwhile`` runs during the first
    send, as another worker would."""

    meanwhile: Callable[[], object] = lambda: None
    waited: bool = False

    def send(self, out: Outgoing) -> SendResult:
        if not self.waited:
            self.waited = True
            self.meanwhile()
        return super().send(out)


def test_a_send_taken_over_after_its_lease_records_nothing(services: Services) -> None:
    """The late worker's result never overwrites what the worker that took over recorded."""
    impatient = Sender(services.sessions, services.channels, lease=timedelta(0))
    channel = SlowChannel("sms", [], meanwhile=impatient.send_next)
    services.channels.register(channel)
    [only] = queue(services, "sms", ["one"])
    assert services.sender.send_next() is True
    assert channel.sent == ["one", "one"]  # SM1 by the one that took over, then SM2 late
    recorded = status(services, only)
    assert (recorded.status, recorded.channel_message_id, recorded.attempts) == (
        OutStatus.SENT,
        "SM1",
        1,
    )
    assert recorded.claim_token is None


def test_permanent_failure_is_recorded_not_dropped(services: Services) -> None:
    services.channels.register(ScriptedChannel("sms", [PermanentSendError("21610")]))
    [only] = queue(services, "sms", ["one"])
    services.sender.send_next()
    failed = status(services, only)
    assert failed.status == OutStatus.FAILED
    assert failed.error == "21610"


def test_channel_that_is_off_fails_visibly(services: Services) -> None:
    [only] = queue(services, "telegram", ["one"])  # no telegram channel configured
    services.sender.send_next()
    assert status(services, only).status == OutStatus.FAILED
    assert status(services, only).error == "channel-off"


def test_web_replies_are_marked_sent(services: Services) -> None:
    [only] = queue(services, "web", ["hello"])
    services.sender.send_next()
    assert status(services, only).status == OutStatus.SENT
    with services.sessions() as db:
        assert db.scalars(select(Message.status)).all() == [OutStatus.SENT]


# A turn's replies: taken in the transaction that writes them and sent at once by the inbound
# loop that answered, unless something earlier of the conversation has not gone out yet.


def receive_sms(svc: Services, text: str | None) -> int:
    inbound = InboundMessage(
        urn="sms:+31612345678",
        channel="sms",
        channel_message_id=f"SMin{uuid.uuid4().hex}",
        received_at=datetime.now(UTC),
        text=text,
        media=[] if text else [{"url": "https://api.twilio.com/media/ME1", "type": "image/jpeg"}],
    )
    with svc.sessions.begin() as db:
        return store_inbound(db, svc.keys, inbound).id


def replies(svc: Services) -> list[Message]:
    with svc.sessions() as db:
        query = select(Message).where(Message.direction == Direction.OUT).order_by(Message.id)
        return list(db.scalars(query).all())


def test_a_turns_replies_go_out_at_once_in_order(services: Services) -> None:
    channel = ScriptedChannel("sms", [])
    services.channels.register(channel)
    receive_sms(services, None)  # a photo, before the privacy notice was accepted: the notice
    assert services.pipeline.process_next() is True
    receive_sms(services, consent.ACCEPT)  # thanks, then the greeting (Rasa is down here)
    assert services.pipeline.process_next() is True
    notice, thanks, greeting = replies(services)
    assert channel.sent == [notice.text, thanks.text, greeting.text]
    assert {(r.status, r.attempts, r.claim_token) for r in (notice, thanks, greeting)} == {
        (OutStatus.SENT, 1, None)
    }
    assert services.sender.send_next() is False  # nothing was left to the outbox


def test_after_a_failed_reply_the_rest_of_the_turn_waits_behind_it(services: Services) -> None:
    channel = ScriptedChannel("sms", [None, TemporarySendError("HTTP 503")])
    services.channels.register(channel)
    receive_sms(services, None)
    services.pipeline.process_next()
    receive_sms(services, consent.ACCEPT)
    services.pipeline.process_next()
    notice, thanks, greeting = replies(services)
    assert (thanks.status, thanks.error) == (OutStatus.ERRORED, "HTTP 503")
    assert (greeting.status, greeting.claim_token, greeting.attempts) == (OutStatus.QUEUED, None, 0)
    assert services.sender.send_next() is False  # the greeting must not overtake the thanks
    with services.sessions.begin() as db:
        db.execute(update(Message).where(Message.id == thanks.id).values(next_attempt_at=None))
    while services.sender.send_next():
        pass
    assert channel.sent == [notice.text, thanks.text, greeting.text]


def test_replies_wait_for_what_their_conversation_has_not_sent(services: Services) -> None:
    channel = ScriptedChannel("sms", [TemporarySendError("HTTP 503")])
    services.channels.register(channel)
    receive_sms(services, "hello")
    services.pipeline.process_next()
    receive_sms(services, "hello?")
    services.pipeline.process_next()
    first, second = replies(services)
    assert first.status == OutStatus.ERRORED
    assert (second.status, second.claim_token) == (OutStatus.QUEUED, None)  # not taken
    assert channel.sent == [] and channel.outcomes == []  # tried once: the first, failing
    with services.sessions.begin() as db:
        db.execute(update(Message).where(Message.id == first.id).values(next_attempt_at=None))
    while services.sender.send_next():
        pass
    assert channel.sent == [first.text, second.text]


def test_replies_taken_by_a_worker_that_died_are_sent_once_after_the_lease(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    channel = ScriptedChannel("sms", [])
    services.channels.register(channel)

    def dies(claims: object) -> None:
        raise SystemExit("killed between its commit and the send")

    monkeypatch.setattr(services.sender, "send", dies)
    receive_sms(services, "hello")
    with pytest.raises(SystemExit):
        services.pipeline.process_next()
    [notice] = replies(services)
    assert notice.status == OutStatus.SENDING and notice.claim_token is not None
    assert services.sender.send_next() is False  # within the lease: someone is sending it
    monkeypatch.undo()
    after_the_lease = Sender(services.sessions, services.channels, lease=timedelta(0))
    assert after_the_lease.send_next() is True
    assert after_the_lease.send_next() is False
    assert channel.sent == [notice.text]
    assert (status(services, notice.id).status, status(services, notice.id).attempts) == (
        OutStatus.SENT,
        1,
    )

"""The consent gate and "delete my data" in the chat, without Rasa (it is down in unit tests):
everything here must work even then."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from bot import consent
from bot.channels import Outgoing, SendResult
from bot.errors import TemporarySendError
from bot.privacy.subject import erase_requested
from bot.services import Services
from bot.storage.models import (
    Author,
    Contact,
    Direction,
    Handoff,
    InStatus,
    Message,
    OutStatus,
    Tombstone,
)
from tests.unit.test_pipeline import message, receive, replies_to


def contact(svc: Services) -> Contact:
    with svc.sessions() as db:
        return db.scalars(select(Contact)).one()


def payloads(reply: Message) -> list[str]:
    return [b["payload"] for b in reply.buttons or []]


def test_first_message_gets_the_notice_in_its_language_and_waits(services: Services) -> None:
    first = receive(services, "أريد العودة إلى بلدي", lang=None, consented=False)
    assert services.pipeline.process_next() is True
    assert message(services, first).status == InStatus.AWAITING_CONSENT
    [notice] = replies_to(services, first)
    assert notice.text == services.renderer.render(consent.NOTICE_RESPONSE, "ar")["text"]
    assert payloads(notice) == [consent.ACCEPT, consent.HUMAN, "lang:pick"]
    assert contact(services).lang == "ar"
    assert contact(services).consent_at is None
    # Anything else before accepting gets the notice again; nothing goes to Rasa.
    again = receive(services, "hallo?", lang=None, consented=False)
    services.pipeline.process_next()
    assert message(services, again).status == InStatus.AWAITING_CONSENT
    assert [r.text for r in replies_to(services, again)] == [notice.text]


def test_another_language_shows_the_notice_in_it(services: Services) -> None:
    receive(services, "hello", consented=False)
    services.pipeline.process_next()
    picker_request = receive(services, "3", consented=False)  # the notice's "Language" button
    services.pipeline.process_next()
    [picker] = replies_to(services, picker_request)
    assert "lang:fr" in payloads(picker)
    chosen = receive(services, "lang:fr", consented=False)
    services.pipeline.process_next()
    [notice] = replies_to(services, chosen)
    assert notice.lang == "fr"
    assert notice.text == services.renderer.render(consent.NOTICE_RESPONSE, "fr")["text"]
    assert contact(services).consent_at is None


def test_talk_to_a_person_without_consent_opens_a_handoff(services: Services) -> None:
    receive(services, "hello", consented=False)
    services.pipeline.process_next()
    human = receive(services, "2", consented=False)  # the notice's second button
    services.pipeline.process_next()
    assert message(services, human).status == InStatus.HANDLED
    [reply] = replies_to(services, human)
    assert reply.text == services.renderer.render("utter_handoff", "en")["text"]
    with services.sessions() as db:
        assert db.scalars(select(Handoff)).one().reason == "request_human"
    # The counsellor has the conversation now: the person's words go to them, not to the gate.
    later = receive(services, "my name is Amal", consented=False)
    services.pipeline.process_next()
    assert message(services, later).status == InStatus.HELD
    assert contact(services).consent_at is None


def test_accepting_records_version_time_and_channel(services: Services) -> None:
    accept = receive(services, consent.ACCEPT, consented=False)
    services.pipeline.process_next()
    assert message(services, accept).status == InStatus.HANDLED
    thanks, greeting = replies_to(services, accept)
    assert thanks.text == services.renderer.render(consent.THANKS_RESPONSE, "en")["text"]
    assert greeting.text == services.renderer.render("utter_greeting", "en")["text"]
    person = contact(services)
    assert person.consent_version == consent.NOTICE_VERSION
    assert person.consent_channel == "web"
    assert person.consent_at is not None
    assert datetime.now(UTC) - person.consent_at < timedelta(minutes=1)


def test_accepting_while_rasa_is_down_loses_nothing(services: Services) -> None:
    question = receive(services, "how do I go home", consented=False)
    services.pipeline.process_next()
    accept = receive(services, "1", consented=False)  # "I agree", by its number
    services.pipeline.process_next()  # the waiting question needs Rasa, which is down
    assert message(services, accept).status == InStatus.PENDING
    assert message(services, question).status == InStatus.AWAITING_CONSENT
    assert contact(services).consent_at is None  # recorded only with the answer


def offer_erasure(svc: Services, after: int) -> None:
    """What Rasa's utter_delete_data leaves in the outbox: the question with its two buttons."""
    inbound = message(svc, after)
    rendered = svc.renderer.render("utter_delete_data", "en")
    with svc.sessions.begin() as db:
        db.execute(update(Message).where(Message.id == after).values(status=InStatus.HANDLED))
        db.add(
            Message(
                direction=Direction.OUT,
                status=OutStatus.SENT,
                author=Author.BOT,
                conversation_id=inbound.conversation_id,
                contact_id=inbound.contact_id,
                channel="web",
                text=rendered["text"],
                buttons=rendered["buttons"],
                in_reply_to_id=after,
            )
        )


def channel_down(svc: Services, monkeypatch: pytest.MonkeyPatch) -> None:
    """The person's channel fails for now, as a provider's outage: replies stay unsent."""

    def send(out: Outgoing) -> SendResult:
        raise TemporarySendError("HTTP 503")

    monkeypatch.setattr(svc.channels.get("web"), "send", send)


def test_delete_my_data_erases_after_the_confirmation_is_sent(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    channel_down(services, monkeypatch)
    wish = receive(services, "delete my data")
    offer_erasure(services, wish)
    confirm = receive(services, "1")  # "Yes, delete all"
    services.pipeline.process_next()
    [done] = replies_to(services, confirm)
    assert done.text == services.renderer.render(consent.ERASED_RESPONSE, "en")["text"]
    requested = contact(services).erase_requested_at
    assert requested is not None
    tracker = services.settings.tracker_url
    later = requested + timedelta(seconds=60)
    # The confirmation has not gone out: the person must get it before their address goes.
    assert message(services, done.id).status == OutStatus.ERRORED
    assert erase_requested(services.sessions, tracker, delay=timedelta(0), at=later) == 0
    with services.sessions.begin() as db:
        db.execute(update(Message).where(Message.id == done.id).values(status=OutStatus.SENT))
    assert erase_requested(services.sessions, tracker, delay=timedelta(0), at=later) == 1
    with services.sessions() as db:
        assert db.scalars(select(Contact)).all() == []
        assert db.scalars(select(Message)).all() == []
        assert db.scalars(select(Tombstone.reason)).one() == "chat"


def test_an_unreachable_person_is_erased_after_an_hour_anyway(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    channel_down(services, monkeypatch)
    wish = receive(services, "delete my data")
    offer_erasure(services, wish)
    receive(services, consent.ERASE_CONFIRM)
    services.pipeline.process_next()
    requested = contact(services).erase_requested_at
    assert requested is not None
    tracker = services.settings.tracker_url
    soon, late = requested + timedelta(minutes=5), requested + timedelta(minutes=61)
    assert erase_requested(services.sessions, tracker, delay=timedelta(0), at=soon) == 0
    assert erase_requested(services.sessions, tracker, delay=timedelta(0), at=late) == 1


def test_no_keeps_everything(services: Services) -> None:
    wish = receive(services, "delete my data")
    offer_erasure(services, wish)
    keep = receive(services, "2")
    services.pipeline.process_next()
    [reply] = replies_to(services, keep)
    assert reply.text == services.renderer.render(consent.KEPT_RESPONSE, "en")["text"]
    assert contact(services).erase_requested_at is None


def test_erasure_words_only_count_when_they_were_offered(services: Services) -> None:
    typed = receive(services, consent.ERASE_CONFIRM)  # not offered: just words, for Rasa
    services.pipeline.process_next()
    assert message(services, typed).status == InStatus.PENDING  # waiting for Rasa (down)
    assert contact(services).erase_requested_at is None

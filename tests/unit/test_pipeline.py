"""The pipeline without Rasa: Rasa is configured on a closed port, i.e. down."""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update

from bot.messages import InboundMessage
from bot.pipeline import Outcome
from bot.services import Services
from bot.storage.models import (
    Contact,
    Direction,
    Handoff,
    HandoffStatus,
    InStatus,
    Message,
    OutStatus,
)
from bot.storage.repo import store_inbound

_ids = itertools.count(1)


def receive(
    svc: Services,
    text: str,
    session: str = "s1",
    lang: str | None = "en",
    *,
    consented: bool = True,
) -> int:
    """Store an inbound web message; by default from a person who accepted the notice."""
    inbound = InboundMessage(
        urn=f"web:{session}",
        channel="web",
        channel_message_id=f"m{next(_ids)}",
        received_at=datetime.now(UTC),
        text=text,
        lang=lang,
    )
    with svc.sessions.begin() as db:
        stored = store_inbound(db, svc.keys, inbound)
        if consented:
            contact = db.get_one(Contact, stored.contact_id)
            contact.consent_at = contact.consent_at or datetime.now(UTC)
        return stored.id


def message(svc: Services, message_id: int) -> Message:
    with svc.sessions() as db:
        return db.get_one(Message, message_id)


def replies_to(svc: Services, message_id: int) -> list[Message]:
    with svc.sessions() as db:
        return list(db.scalars(select(Message).where(Message.in_reply_to_id == message_id)).all())


def test_urgent_message_is_answered_without_rasa_or_consent(services: Services) -> None:
    msg_id = receive(services, "please help he beats me every night", consented=False)
    assert services.pipeline.process_next() is True
    stored = message(services, msg_id)
    assert stored.status == InStatus.HANDLED
    assert stored.urgent is True
    assert stored.topic == "urgent_safety"
    [reply] = replies_to(services, msg_id)
    assert reply.direction == Direction.OUT
    assert reply.status == OutStatus.SENT  # by the loop that answered, at once
    assert "112" in (reply.text or "")
    with services.sessions() as db:
        handoff = db.scalars(select(Handoff)).one()
    assert handoff.urgent is True
    assert handoff.status == HandoffStatus.WAITING


def test_rasa_down_keeps_the_message_and_its_order(services: Services) -> None:
    first = receive(services, "hello")
    second = receive(services, "how do I go back home")
    other = receive(services, "hi", session="s2")
    assert services.pipeline.process_next() is True
    waiting = message(services, first)
    assert waiting.status == InStatus.PENDING
    assert waiting.attempts == 1
    assert waiting.error is not None and waiting.error.startswith("rasa: ")
    assert waiting.next_attempt_at is not None
    # The second message of s1 must wait behind the first; s2 is independent.
    claim = services.pipeline.claim_next()
    assert claim is not None and claim.message_id == other
    assert services.pipeline.claim_next() is None
    assert message(services, second).status == InStatus.PENDING
    assert replies_to(services, first) == []


def test_held_conversation_is_stored_but_not_sent_to_rasa(services: Services) -> None:
    first = receive(services, "hello")
    with services.sessions.begin() as db:
        db.add(Handoff(conversation_id=message(services, first).conversation_id))
        db.execute(update(Message).where(Message.id == first).values(status=InStatus.HANDLED))
    later = receive(services, "are you there")
    assert services.pipeline.process_next() is True
    # HELD (not pending): Rasa, which is down, was never asked.
    assert message(services, later).status == InStatus.HELD
    assert message(services, later).text == "are you there"
    assert replies_to(services, later) == []


def test_urgent_message_is_answered_even_while_held(services: Services) -> None:
    first = receive(services, "hello")
    with services.sessions.begin() as db:
        db.add(Handoff(conversation_id=message(services, first).conversation_id))
        db.execute(update(Message).where(Message.id == first).values(status=InStatus.HANDLED))
    urgent = receive(services, "i want to kill myself")
    services.pipeline.process_next()
    assert message(services, urgent).urgent is True
    assert len(replies_to(services, urgent)) == 1
    with services.sessions() as db:
        assert db.scalars(select(Handoff)).one().urgent is True


def test_a_crashed_claim_is_taken_over_after_the_lease(services: Services) -> None:
    msg_id = receive(services, "my friend hits me")
    claim = services.pipeline.claim_next()
    assert claim is not None
    assert services.pipeline.claim_next() is None  # fresh claim: nobody else takes it
    with services.sessions.begin() as db:
        db.execute(
            update(Message)
            .where(Message.id == msg_id)
            .values(claimed_at=datetime.now(UTC) - timedelta(hours=1))
        )
    again = services.pipeline.claim_next()
    assert again is not None and again.message_id == msg_id
    # The first worker wakes up late: its result is refused, nothing is written twice.
    assert services.pipeline.complete(claim, Outcome(status=InStatus.HANDLED)) is False
    assert services.pipeline.complete(again, Outcome(status=InStatus.HANDLED)) is True
    stale = replace(again, token="stale")
    assert services.pipeline.complete(stale, Outcome(InStatus.HANDLED)) is False


def test_redelivered_message_is_stored_once(services: Services) -> None:
    inbound = InboundMessage(
        urn="web:s9",
        channel="web",
        channel_message_id="dup-1",
        received_at=datetime.now(UTC),
        text="hello",
    )
    with services.sessions.begin() as db:
        first = store_inbound(db, services.keys, inbound).id
    with services.sessions.begin() as db:
        second = store_inbound(db, services.keys, inbound).id
    assert first == second
    with services.sessions() as db:
        assert len(db.scalars(select(Message)).all()) == 1


def test_lang_command_gets_the_picker_without_rasa(services: Services) -> None:
    msg_id = receive(services, "/lang", session="new", lang=None)
    services.pipeline.process_next()
    [reply] = replies_to(services, msg_id)
    assert message(services, msg_id).status == InStatus.HANDLED
    titles = [b["title"] for b in reply.buttons or []]
    assert titles[:3] == ["English", "Nederlands", "العربية"]
    assert {b["payload"] for b in reply.buttons or []} >= {"lang:en", "lang:nl", "lang:ar"}


def test_picking_a_language_is_remembered_and_answered_in_it(services: Services) -> None:
    receive(services, "/lang", session="pick", lang=None)
    services.pipeline.process_next()
    chosen = receive(services, "2", session="pick", lang=None)  # option 2 of the picker
    services.pipeline.process_next()
    [greeting] = replies_to(services, chosen)
    assert greeting.lang == "nl"
    assert greeting.text == services.renderer.render("utter_greeting", "nl")["text"]
    later = receive(services, "Arabisch alsjeblieft", session="pick", lang=None)
    services.pipeline.process_next()
    [arabic] = replies_to(services, later)
    assert arabic.lang == "ar"


def test_a_first_contact_waits_for_rasa_like_any_message(services: Services) -> None:
    msg_id = receive(services, "salam", session="waits", lang=None)
    services.pipeline.process_next()  # Rasa is down: the message waits, nothing is lost
    assert message(services, msg_id).status == InStatus.PENDING
    assert replies_to(services, msg_id) == []


def test_urgent_first_message_is_answered_in_the_language_it_was_written_in(
    services: Services,
) -> None:
    msg_id = receive(
        services, "ik wil niet meer leven", session="urgent-nl", lang=None, consented=False
    )
    services.pipeline.process_next()
    [reply] = replies_to(services, msg_id)
    assert reply.text == services.renderer.render("utter_urgent_safety", "nl")["text"]


def test_language_name_while_held_is_noted_not_answered(services: Services) -> None:
    first = receive(services, "hello")
    with services.sessions.begin() as db:
        db.add(Handoff(conversation_id=message(services, first).conversation_id))
        db.execute(update(Message).where(Message.id == first).values(status=InStatus.HANDLED))
    later = receive(services, "Nederlands")
    services.pipeline.process_next()
    assert message(services, later).status == InStatus.HELD
    assert replies_to(services, later) == []
    with services.sessions() as db:
        assert db.scalars(select(Contact.lang)).one() == "nl"

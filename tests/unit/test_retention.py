"""Retention: idle conversations close; closed ones are purged after their service's period."""

from __future__ import annotations

import ast
import sqlite3
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select

from bot.config import PROJECT_DIR
from bot.privacy.retention import Policy, Retention
from bot.services import Services
from bot.storage.models import (
    Appointment,
    Author,
    Contact,
    Conversation,
    Direction,
    InStatus,
    Message,
    ProviderDeletion,
    RetentionPurge,
)
from bot.storage.repo import get_or_create_contact
from bot.topics import SERVICE_OF_TOPIC
from tests.statements import recorded

NOW = datetime(2027, 6, 1, 12, 0, tzinfo=UTC)
POLICY = Policy(
    idle=timedelta(days=30),
    default_days=365,
    days_by_service={"family_reunification": 90},
    unconsented_days=30,
)


def person(
    svc: Services,
    urn: str,
    *,
    topic: str | None,
    last_at: datetime,
    consented: bool = True,
    closed_at: datetime | None = None,
    channel: str = "web",
) -> int:
    """A person with one conversation: a question about ``topic`` and its answer."""
    with svc.sessions.begin() as db:
        contact = get_or_create_contact(db, svc.keys, urn)
        contact.consent_at = last_at - timedelta(days=1) if consented else None
        contact.last_inbound_at = last_at
        conversation = Conversation(contact_id=contact.id, opened_at=last_at, closed_at=closed_at)
        db.add(conversation)
        db.flush()
        for direction, author in ((Direction.IN, Author.PERSON), (Direction.OUT, Author.BOT)):
            db.add(
                Message(
                    direction=direction,
                    status=InStatus.HANDLED if direction == Direction.IN else "sent",
                    author=author,
                    conversation_id=conversation.id,
                    contact_id=contact.id,
                    channel=channel,
                    channel_message_id=f"SM{uuid.uuid4().hex}" if channel != "web" else None,
                    text="a question about my family in Eritrea",
                    topic=topic,
                    created_at=last_at,
                )
            )
        return contact.id


def retention(svc: Services, tracker: Path | None = None) -> Retention:
    return Retention(svc.sessions, POLICY, f"sqlite:///{tracker}" if tracker else None)


def count(svc: Services, model: type[Contact] | type[Conversation] | type[Message]) -> int:
    with svc.sessions() as db:
        return db.scalar(select(func.count()).select_from(model)) or 0


def test_idle_conversations_close_at_their_last_message(services: Services) -> None:
    last = NOW - timedelta(days=31)
    person(services, "web:idle", topic="return_info", last_at=last)
    person(services, "web:active", topic="return_info", last_at=NOW - timedelta(days=2))
    retention(services).run(NOW)
    with services.sessions() as db:
        closed = dict(db.execute(select(Conversation.opened_at, Conversation.closed_at)).all())
    assert closed == {last: last, NOW - timedelta(days=2): None}


def test_each_service_keeps_its_own_period(services: Services) -> None:
    closed = NOW - timedelta(days=100)
    person(services, "web:family", topic="family_reunification", last_at=closed, closed_at=closed)
    person(services, "web:return", topic="return_info", last_at=closed, closed_at=closed)
    records = retention(services).run(NOW)
    # Family reunification keeps 90 days: purged. Return keeps the default 365: kept.
    assert [(r.service, r.conversations, r.messages, r.contacts) for r in records] == [
        ("family_reunification", 1, 2, 1)
    ]
    assert count(services, Contact) == 1
    assert count(services, Message) == 2
    with services.sessions() as db:
        record = db.scalars(select(RetentionPurge)).one()
    assert record.retention_days == 90
    assert record.purged_at == NOW


def statements(svc: Services, run: Callable[[], object]) -> int:
    """How many SQL statements ``run`` sends."""
    with recorded(svc.sessions.kw["bind"]) as sent:
        run()
    return len(sent)


def test_the_latest_service_decides_in_the_same_statements_for_any_number(
    services: Services,
) -> None:
    """A conversation that asked about return, then about family reunification, is kept for
    family reunification's 90 days; finding each conversation's service is one statement for
    all of them, not one each."""
    closed = NOW - timedelta(days=100)

    def conversations(first: int, count: int) -> None:
        for n in range(first, first + count):
            contact_id = person(
                services, f"web:both-{n}", topic="return_info", last_at=closed, closed_at=closed
            )
            with services.sessions.begin() as db:
                conversation = db.scalars(
                    select(Conversation).where(Conversation.contact_id == contact_id)
                ).one()
                db.add(
                    Message(
                        direction=Direction.IN,
                        status=InStatus.HANDLED,
                        author=Author.PERSON,
                        conversation_id=conversation.id,
                        contact_id=contact_id,
                        channel="web",
                        text="and my children",
                        topic="family_reunification",
                        created_at=closed,
                    )
                )

    def due() -> dict[int, str]:
        with services.sessions() as db:
            return retention(services)._due(db, NOW)

    conversations(0, 2)
    few = statements(services, due)
    conversations(2, 6)
    assert statements(services, due) == few
    assert sorted(due().values()) == ["family_reunification"] * 8


def test_people_who_never_accepted_are_purged_sooner(services: Services) -> None:
    person(services, "web:silent", topic=None, last_at=NOW - timedelta(days=31), consented=False)
    person(services, "web:new", topic=None, last_at=NOW - timedelta(days=3), consented=False)
    records = retention(services).run(NOW)
    assert [(r.service, r.contacts) for r in records] == [("no_consent", 1)]
    assert count(services, Contact) == 1


def test_a_coming_appointment_keeps_its_conversation(services: Services) -> None:
    closed = NOW - timedelta(days=400)
    contact_id = person(services, "web:appt", topic="return_info", last_at=closed, closed_at=closed)
    with services.sessions.begin() as db:
        conversation_id = db.scalars(select(Conversation.id)).one()
        db.add(
            Appointment(
                contact_id=contact_id,
                conversation_id=conversation_id,
                kind="appointment",
                starts_at=NOW + timedelta(days=3),
                timezone="Europe/Amsterdam",
                channel="web",
            )
        )
    assert retention(services).run(NOW) == []
    assert count(services, Conversation) == 1
    assert retention(services).run(NOW + timedelta(days=4)) != []  # once it has passed
    assert count(services, Contact) == 0


def test_rasa_forgets_what_was_purged(services: Services, tmp_path: Path) -> None:
    tracker = tmp_path / "tracker.db"
    with sqlite3.connect(tracker) as conn:
        conn.execute("CREATE TABLE events (id INTEGER PRIMARY KEY, sender_id TEXT, timestamp REAL)")
    old = NOW - timedelta(days=400)
    gone = person(services, "web:gone", topic="cd4d", last_at=old, closed_at=old)
    stays = person(services, "web:stays", topic="cd4d", last_at=old, closed_at=old)
    person(services, "web:stays", topic="cd4d", last_at=NOW - timedelta(days=1))  # a new chat
    with services.sessions() as db:
        senders = {c.id: c.rasa_sender_id for c in db.scalars(select(Contact))}
    with sqlite3.connect(tracker) as conn:
        for contact_id in (gone, stays):
            conn.execute(
                "INSERT INTO events (sender_id, timestamp) VALUES (?, ?), (?, ?)",
                (
                    senders[contact_id],
                    old.timestamp(),
                    senders[contact_id],
                    (NOW - timedelta(days=1)).timestamp(),
                ),
            )
    retention(services, tracker).run(NOW)
    with sqlite3.connect(tracker) as conn:
        left = conn.execute("SELECT sender_id, timestamp FROM events").fetchall()
    # The erased person is gone from Rasa; the other keeps only what their kept chat holds.
    assert left == [(senders[stays], (NOW - timedelta(days=1)).timestamp())]


def test_purged_whatsapp_messages_are_deleted_at_twilio_too(services: Services) -> None:
    old = NOW - timedelta(days=400)
    person(
        services,
        "whatsapp:+31600000001",
        topic="cd4d",
        last_at=old,
        closed_at=old,
        channel="whatsapp",
    )
    retention(services).run(NOW)
    with services.sessions() as db:
        assert len(db.scalars(select(ProviderDeletion)).all()) == 2  # the question and the answer


def test_the_service_of_a_topic_is_the_same_for_the_intake() -> None:
    """The gateway and the actions (two environments) keep one mapping each; they must agree."""
    source = (PROJECT_DIR / "actions" / "intake.py").read_text(encoding="utf-8")
    [assignment] = [
        node
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.AnnAssign)
        and isinstance(node.target, ast.Name)
        and node.target.id == "SERVICE_BY_INTENT"
    ]
    assert assignment.value is not None
    assert ast.literal_eval(assignment.value) == SERVICE_OF_TOPIC

"""Inbox pieces without the stack: catalogs complete, argon2id hashes, throttle, and a close
that Rasa cannot hear about yet (it is kept and retried, never lost)."""

from __future__ import annotations

import io
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.config import PROJECT_DIR
from bot.inbox import conversation as conv
from bot.inbox import queues, security
from bot.inbox.i18n import UiCatalogs
from bot.inbox.queues import Row
from bot.inbox.web import Actor
from bot.messages import InboundMessage
from bot.services import Services
from bot.storage.models import (
    Author,
    Contact,
    Conversation,
    Direction,
    Handoff,
    HandoffStatus,
    InboxUser,
    Message,
    OutStatus,
    Role,
)
from bot.storage.repo import store_inbound
from tests.statements import recorded

INBOX_DIR = PROJECT_DIR / "bot" / "inbox"


def extracted() -> set[str]:
    methods = [("**.py", "python"), ("**/templates/**.html", "jinja2")]
    return {str(msg[2]) for msg in extract_from_dir(str(INBOX_DIR), methods) if msg[2]}


def test_every_inbox_text_has_a_dutch_translation() -> None:
    path = PROJECT_DIR / "locales" / "nl" / "LC_MESSAGES" / "inbox.po"
    catalog = read_po(io.BytesIO(path.read_bytes()), locale="nl")
    translated = {str(m.id) for m in catalog if m.id and m.string and not m.fuzzy}
    missing = extracted() - translated
    assert not missing, f"run `make i18n-inbox` and translate: {sorted(missing)[:10]}"
    dutch = UiCatalogs(PROJECT_DIR / "locales").gettext("nl")
    assert dutch("Log in") == "Inloggen"
    assert dutch("last %(n)s days", n=7) == "laatste 7 dagen"


def test_passwords_are_argon2id_and_short_ones_are_refused() -> None:
    stored = security.hash_password("correct horse battery")
    assert stored.startswith("$argon2id$")
    assert security.verify_password(stored, "correct horse battery")
    assert not security.verify_password(stored, "wrong")
    assert not security.verify_password(None, "anything")
    with pytest.raises(security.PasswordTooWeak):
        security.hash_password("short")


def test_throttle_counts_failures_per_address() -> None:
    throttle = security.Throttle(limit=2, window=60)
    throttle.failed("10.0.0.1")
    assert not throttle.blocked("10.0.0.1")
    throttle.failed("10.0.0.1")
    assert throttle.blocked("10.0.0.1")
    assert not throttle.blocked("10.0.0.2")


def test_close_while_rasa_is_down_is_kept_and_the_person_is_told(services: Services) -> None:
    inbound = InboundMessage(
        urn="web:s-close", channel="web", channel_message_id="m1",
        received_at=datetime.now(UTC), text="help",
    )  # fmt: skip
    with services.sessions.begin() as db:
        message = store_inbound(db, services.keys, inbound)
        user = InboxUser(
            username="carla", role=Role.COUNSELLOR, password_hash=security.hash_password("x" * 12)
        )
        db.add(user)
        db.add(Handoff(conversation_id=message.conversation_id, reason="request_human"))
        db.flush()
        actor = Actor(user.id, "carla", Role.COUNSELLOR, 0, "", "en")
        conversation_id = message.conversation_id
    with services.sessions.begin() as db:
        conv.claim(db, actor, conversation_id)
        conv.reply(db, services, actor, conversation_id, "Hello from IOM")
        handoff_id = conv.close(db, services, actor, conversation_id, "answered")
    assert conv.resume(services, handoff_id) is False  # Rasa is down in unit tests
    conv.retry_resumes(services)
    with services.sessions() as db:
        handoff = db.get_one(Handoff, handoff_id)
        assert handoff.status == HandoffStatus.CLOSED
        assert handoff.resume_pending is True
        assert handoff.outcome == "answered" and handoff.first_response_at is not None
        out = db.scalars(
            select(Message).where(Message.direction == "out").order_by(Message.id)
        ).all()
    assert [(m.author, m.channel, m.in_reply_to_id) for m in out] == [
        (Author.COUNSELLOR, "web", None),
        (Author.BOT, "web", None),
    ]
    assert out[0].text == "Hello from IOM"
    assert out[1].text == services.renderer.render(conv.CLOSED_RESPONSE, "en")["text"]
    with services.sessions.begin() as db, pytest.raises(conv.Conflict, match="closed"):
        conv.reply(db, services, actor, conversation_id, "too late")


LONG = "I need help with my residence papers. " * 6  # 228 characters: the preview is cut


def _person(db: Session, services: Services, urn: str, at: datetime, **content: Any) -> Message:
    inbound = InboundMessage(
        urn=urn, channel=urn.partition(":")[0], channel_message_id=uuid.uuid4().hex,
        received_at=at, **content,
    )  # fmt: skip
    return store_inbound(db, services.keys, inbound)


def _answer(db: Session, to: Message, at: datetime, author: Author = Author.COUNSELLOR) -> None:
    answer = Message(
        direction=Direction.OUT, status=OutStatus.SENT, author=author,
        conversation_id=to.conversation_id, contact_id=to.contact_id, channel=to.channel,
        text="We are here", created_at=at,
    )  # fmt: skip
    db.add(answer)


def _add_case(db: Session, services: Services, i: int, now: datetime, carla: int) -> Row:
    """Handoff ``i`` of the queue test: case 0 is urgent, the others cycle through four kinds.
    Returns the row the queue should show for it."""

    def ago(minutes: int) -> datetime:
        return now - timedelta(minutes=minutes + i)  # + i: every case waits a little longer

    kind = "urgent" if i == 0 else ("again", "closed", "waiting", "answered")[(i - 1) % 4]
    handoff = Handoff(opened_at=ago(30 if kind == "urgent" else 230), reason="request_human")
    if kind == "urgent":  # waiting for 30 minutes, past the 15-minute target
        first = _person(db, services, f"web:case-{i}", ago(30), text="he is outside the door")
        handoff.urgent, handoff.reason, handoff.escalated_at = True, "violence", ago(5)
        name, waiting, sla, preview = "Amina", ago(30), "breached", "he is outside the door"
    elif kind == "again":  # answered, then wrote again 200 minutes ago: waiting from then
        first = _person(db, services, f"telegram:{1000 + i}", ago(230), text="where do I sign")
        handoff.assigned_to_id, handoff.status = carla, HandoffStatus.ASSIGNED
        handoff.reason = None  # the conversation's topic is shown instead
        db.get_one(Conversation, first.conversation_id).last_topic = "return"
        _answer(db, first, ago(220))
        _person(db, services, f"telegram:{1000 + i}", ago(200), text="one more question")
        _person(db, services, f"telegram:{1000 + i}", ago(10), payload="/yes")
        name, waiting, sla, preview = None, ago(200), "soon", "/yes"
    elif kind == "closed":
        first = _person(db, services, f"web:case-{i}", ago(230), text="ok, thank you")
        _answer(db, first, ago(225))
        handoff.assigned_to_id, handoff.status = carla, HandoffStatus.CLOSED
        handoff.closed_at, handoff.outcome = ago(220), "answered"
        name, waiting, sla, preview = "Dawit", None, "closed", "ok, thank you"
    elif kind == "waiting":  # a counsellor's reply before the handoff and the bot's after it
        first = _person(db, services, f"web:case-{i}", ago(90), text="hello", lang="fr")
        _answer(db, first, ago(80))  # before this handoff: does not count
        _person(db, services, f"web:case-{i}", ago(60), text=LONG)
        handoff.opened_at = ago(60)
        _answer(db, first, ago(59), author=Author.BOT)  # not a counsellor: still waiting
        name, waiting, sla, preview = "Leila", ago(60), "ok", LONG[:140] + "…"
    else:  # answered: nobody is waiting
        first = _person(db, services, f"whatsapp:+3161234{i:04d}", ago(230), text="call me?")
        handoff.assigned_to_id, handoff.status = carla, HandoffStatus.ASSIGNED
        _answer(db, first, ago(225))
        name, waiting, sla, preview = "Sam", None, "answered", "call me?"
    contact = db.get_one(Contact, first.contact_id)
    contact.name = name
    handoff.conversation_id = first.conversation_id
    db.add(handoff)
    db.flush()
    return Row(
        conversation_id=first.conversation_id,
        handoff_id=handoff.id,
        who=name or f"#{contact.id} · {contact.rasa_sender_id[1:7]}",
        channel={"again": "telegram", "answered": "whatsapp"}.get(kind, "web"),
        lang="fr" if kind == "waiting" else "en",
        topic={"urgent": "violence", "again": "return"}.get(kind, "request_human"),
        urgent=kind == "urgent",
        status={"urgent": "waiting", "waiting": "waiting", "closed": "closed"}.get(
            kind, "assigned"
        ),
        assignee=None if kind in ("urgent", "waiting") else "carla",
        waiting_since=waiting,
        sla=sla,
        escalated=kind == "urgent",
        preview=preview,
        closed_at=ago(220) if kind == "closed" else None,
        outcome="answered" if kind == "closed" else None,
    )


def _counted(services: Services, view: str, user_id: int) -> tuple[list[Row], int]:
    """The queue's rows, and how many SQL statements reading them took."""
    with recorded(services.sessions.kw["bind"]) as sent, services.sessions() as db:
        rows = queues.queue(db, services.settings, view, user_id)
    return rows, len(sent)


def test_the_queue_is_read_in_the_same_few_statements_for_any_number_of_handoffs(
    services: Services,
) -> None:
    """Once ~4 statements per handoff (conversation, contact, last message, waiting time): a
    counsellor with forty open cases cost 160 per page refresh."""
    now = datetime.now(UTC)
    with services.sessions.begin() as db:
        carla = InboxUser(username="carla", role=Role.COUNSELLOR, password_hash="x")
        db.add(carla)
        db.flush()
        carla_id = carla.id
        expected = {i: _add_case(db, services, i, now, carla_id) for i in range(3)}

    def read() -> tuple[dict[str, list[Row]], dict[str, int]]:
        rows, statements = {}, {}
        for view in queues.VIEWS:
            rows[view], statements[view] = _counted(services, view, carla_id)
        return rows, statements

    def cases(*numbers: int) -> list[Row]:
        return [expected[i] for i in numbers]

    rows, with_3 = read()
    assert rows == {
        "unassigned": cases(0),
        "mine": cases(1),
        "open": cases(0, 1),
        "urgent": cases(0),
        "closed": cases(2),
    }

    with services.sessions.begin() as db:
        expected |= {i: _add_case(db, services, i, now, carla_id) for i in range(3, 12)}
    rows, with_12 = read()
    # Urgent first, then the longest waiting, then those answered (by handoff); closed: latest.
    assert rows == {
        "unassigned": cases(0, 11, 7, 3),
        "mine": cases(9, 5, 1, 4, 8),
        "open": cases(0, 9, 5, 1, 11, 7, 3, 4, 8),
        "urgent": cases(0),
        "closed": cases(2, 6, 10),
    }
    assert with_12 == with_3

    with services.sessions() as db:  # the conversation view's reading agrees with the queue's
        for row in rows["open"]:
            handoff = db.get_one(Handoff, row.handoff_id)
            assert queues.waiting_since(db, handoff) == row.waiting_since


def test_handoffs_past_their_target_are_escalated_once(services: Services) -> None:
    """Of the queue test's first five cases only the urgent one is past its target, and it is
    escalated already; a normal case waiting five hours (target: four) is escalated, once."""
    now = datetime.now(UTC)
    with services.sessions.begin() as db:
        carla = InboxUser(username="carla", role=Role.COUNSELLOR, password_hash="x")
        db.add(carla)
        db.flush()
        cases = [_add_case(db, services, i, now, carla.id) for i in range(5)]
        late = _person(db, services, "web:late", now - timedelta(minutes=300), text="anyone?")
        db.add(
            Handoff(
                conversation_id=late.conversation_id,
                opened_at=now - timedelta(minutes=300),
                reason="request_human",
            )
        )
    assert conv.escalate_breaches(services) == 1
    assert conv.escalate_breaches(services) == 0
    with services.sessions() as db:
        escalated = db.scalars(
            select(Handoff.conversation_id).where(Handoff.escalated_at.is_not(None))
        ).all()
    assert sorted(escalated) == sorted([cases[0].conversation_id, late.conversation_id])

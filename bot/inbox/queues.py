"""The queues: unassigned, mine, all open, urgent, closed. Urgent first, then longest waiting.

A person is *waiting* from the handoff (or from their first message after a counsellor's last
reply) until a counsellor answers; the SLA target depends on the priority (settings).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, bindparam, func, select
from sqlalchemy.orm import Session, aliased

from bot.config import Settings
from bot.storage.models import (
    Author,
    Contact,
    Conversation,
    Direction,
    Handoff,
    HandoffStatus,
    InboxUser,
    Message,
)
from bot.storage.repo import now

VIEWS = ("unassigned", "mine", "open", "urgent", "closed")
PREVIEW_CHARS = 140


@dataclass(frozen=True)
class Row:
    conversation_id: int
    handoff_id: int
    who: str
    channel: str
    lang: str
    topic: str
    urgent: bool
    status: str
    assignee: str | None
    waiting_since: datetime | None
    sla: str  # ok, soon, breached, answered, closed
    escalated: bool
    preview: str
    closed_at: datetime | None
    outcome: str | None


def display_name(contact: Contact) -> str:
    """The person's name if known, else a stable pseudonym (never the phone number)."""
    return contact.name or f"#{contact.id} · {contact.rasa_sender_id[1:7]}"


def sla_target(settings: Settings, urgent: bool) -> timedelta:
    return timedelta(minutes=settings.sla_urgent_minutes if urgent else settings.sla_normal_minutes)


# For the SLA, per handoff (correlated, so a whole page is one statement): the counsellor's last
# reply since the handoff opened, and the person's first message after that reply.
_reply = aliased(Message)
_inbound = aliased(Message)
LAST_REPLY = (
    select(func.max(_reply.created_at))
    .where(
        _reply.conversation_id == Handoff.conversation_id,
        _reply.author == Author.COUNSELLOR,
        _reply.created_at >= Handoff.opened_at,
    )
    .correlate(Handoff)
    .scalar_subquery()
)
FIRST_AFTER_REPLY = (
    select(func.min(_inbound.created_at))
    .where(
        _inbound.conversation_id == Handoff.conversation_id,
        _inbound.direction == Direction.IN,
        _inbound.created_at > LAST_REPLY,
    )
    .correlate(Handoff)
    .scalar_subquery()
)
# The id of the person's last message in the conversation, as in last_person_message().
LAST_PERSON_MESSAGE_ID = (
    select(Message.id)
    .where(Message.conversation_id == Conversation.id, Message.direction == Direction.IN)
    .order_by(Message.id.desc())
    .limit(1)
    .correlate(Conversation)
    .scalar_subquery()
)
# A queue row's handoff, conversation, contact, assignee and the values above. Built once.
QUEUE = (
    select(
        Handoff,
        Conversation,
        Contact,
        InboxUser.username,
        LAST_PERSON_MESSAGE_ID.label("last_message_id"),
        LAST_REPLY,
        FIRST_AFTER_REPLY,
    )
    .join(Conversation, Handoff.conversation_id == Conversation.id)
    .join(Contact, Conversation.contact_id == Contact.id)
    .outerjoin(InboxUser, Handoff.assigned_to_id == InboxUser.id)
)
WAITING = select(LAST_REPLY, FIRST_AFTER_REPLY).where(Handoff.id == bindparam("handoff_id"))


def waiting_from(
    handoff: Handoff, last_reply: datetime | None, first_after: datetime | None
) -> datetime | None:
    """``waiting_since`` from the two times LAST_REPLY and FIRST_AFTER_REPLY select."""
    return handoff.opened_at if last_reply is None else first_after


def waiting_since(session: Session, handoff: Handoff) -> datetime | None:
    """When the person started waiting for a counsellor; None if a counsellor answered last.

    From the handoff, unless a counsellor replied since: then from the person's first message
    after the counsellor's last reply (None if there is none yet)."""
    last_reply, first_after = session.execute(WAITING, {"handoff_id": handoff.id}).one()
    return waiting_from(handoff, last_reply, first_after)


def sla_state(settings: Settings, handoff: Handoff, since: datetime | None) -> str:
    if not handoff.is_open:
        return "closed"
    if since is None:
        return "answered"
    target = sla_target(settings, handoff.urgent)
    waited = now() - since
    if waited >= target:
        return "breached"
    return "soon" if waited >= target * 0.75 else "ok"


def last_person_message(session: Session, conversation_id: int) -> Message | None:
    return session.scalar(
        select(Message)
        .where(Message.conversation_id == conversation_id, Message.direction == Direction.IN)
        .order_by(Message.id.desc())
        .limit(1)
    )


def _query(view: str, user_id: int) -> Select[Any]:
    if view == "closed":
        return QUEUE.where(Handoff.status == HandoffStatus.CLOSED).order_by(
            Handoff.closed_at.desc()
        )
    query = QUEUE.where(Handoff.is_open)
    if view == "unassigned":
        query = query.where(Handoff.assigned_to_id.is_(None))
    elif view == "mine":
        query = query.where(Handoff.assigned_to_id == user_id)
    elif view == "urgent":
        query = query.where(Handoff.urgent.is_(True))
    return query.order_by(Handoff.id)


def queue(
    session: Session, settings: Settings, view: str, user_id: int, limit: int = 200
) -> list[Row]:
    """The rows of one view: two statements, however many handoffs it shows."""
    found = session.execute(_query(view, user_id).limit(limit)).all()
    message_ids = [row.last_message_id for row in found if row.last_message_id is not None]
    messages = {
        m.id: m for m in session.scalars(select(Message).where(Message.id.in_(message_ids)))
    }
    rows = []
    for handoff, conversation, contact, assignee, message_id, last_reply, first_after in found:
        last = messages.get(message_id) if message_id is not None else None
        since = waiting_from(handoff, last_reply, first_after) if handoff.is_open else None
        text = (last.text or last.payload or "") if last else ""
        rows.append(
            Row(
                conversation_id=conversation.id,
                handoff_id=handoff.id,
                who=display_name(contact),
                channel=last.channel if last else contact.scheme,
                lang=contact.lang or settings.default_lang,
                topic=handoff.reason or conversation.last_topic or "",
                urgent=handoff.urgent,
                status=handoff.status,
                assignee=assignee,
                waiting_since=since,
                sla=sla_state(settings, handoff, since),
                escalated=handoff.escalated_at is not None,
                preview=text[:PREVIEW_CHARS] + ("…" if len(text) > PREVIEW_CHARS else ""),
                closed_at=handoff.closed_at,
                outcome=handoff.outcome,
            )
        )
    if view != "closed":
        far_future = now() + timedelta(days=3650)
        rows.sort(key=lambda r: (not r.urgent, r.waiting_since or far_future, r.handoff_id))
    return rows


def counts(session: Session, user_id: int) -> dict[str, int]:
    open_ = Handoff.is_open
    count = func.count(Handoff.id)
    return {
        "unassigned": session.scalar(select(count).where(open_, Handoff.assigned_to_id.is_(None)))
        or 0,
        "mine": session.scalar(select(count).where(open_, Handoff.assigned_to_id == user_id)) or 0,
        "open": session.scalar(select(count).where(open_)) or 0,
        "urgent": session.scalar(select(count).where(open_, Handoff.urgent.is_(True))) or 0,
    }

"""The queues: unassigned, mine, all open, urgent, closed. Urgent first, then longest waiting.

A person is *waiting* from the handoff (or from their first message after a counsellor's last
reply) until a counsellor answers; the SLA target depends on the priority (settings).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

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


def waiting_since(session: Session, handoff: Handoff) -> datetime | None:
    """When the person started waiting for a counsellor; None if a counsellor answered last."""
    last_reply = session.scalar(
        select(func.max(Message.created_at)).where(
            Message.conversation_id == handoff.conversation_id,
            Message.author == Author.COUNSELLOR,
            Message.created_at >= handoff.opened_at,
        )
    )
    if last_reply is None:
        return handoff.opened_at
    first_after: datetime | None = session.scalar(
        select(func.min(Message.created_at)).where(
            Message.conversation_id == handoff.conversation_id,
            Message.direction == Direction.IN,
            Message.created_at > last_reply,
        )
    )
    return first_after


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


def _query(view: str, user_id: int) -> object:
    query = select(Handoff)
    if view == "closed":
        return query.where(Handoff.status == HandoffStatus.CLOSED).order_by(
            Handoff.closed_at.desc()
        )
    query = query.where(Handoff.is_open)
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
    handoffs = session.scalars(_query(view, user_id).limit(limit)).all()  # type: ignore[attr-defined]
    usernames = dict(session.execute(select(InboxUser.id, InboxUser.username)).tuples().all())
    rows = []
    for handoff in handoffs:
        conversation = session.get_one(Conversation, handoff.conversation_id)
        contact = session.get_one(Contact, conversation.contact_id)
        last = last_person_message(session, conversation.id)
        since = waiting_since(session, handoff) if handoff.is_open else None
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
                assignee=usernames.get(handoff.assigned_to_id) if handoff.assigned_to_id else None,
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

"""Numbers for supervisors and content editors over a period: volume by topic, language and
channel; handoff and fallback rates; median first response time; SLA breaches; and the messages
the bot did not understand."""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from bot.config import Settings
from bot.inbox.queues import sla_target
from bot.storage.models import Contact, Conversation, Direction, Handoff, InStatus, Message
from bot.storage.repo import now

NOT_UNDERSTOOD_TOPICS = ("out_of_scope",)


@dataclass(frozen=True)
class Stats:
    since: datetime
    inbound: int
    by_topic: list[tuple[str, int]]
    by_lang: list[tuple[str, int]]
    by_channel: list[tuple[str, int]]
    conversations: int
    handoffs: int
    handoff_rate: float
    fallback_rate: float
    median_first_response_s: float | None
    sla_breaches: int
    not_understood: list[tuple[int, datetime, str, str, str | None]]  # id, at, lang, text, topic


def _grouped(session: Session, column: Any, since: datetime) -> list[tuple[str, int]]:
    rows = session.execute(
        select(column, func.count(Message.id))
        .join(Contact, Contact.id == Message.contact_id)
        .where(Message.direction == Direction.IN, Message.created_at >= since)
        .group_by(column)
        .order_by(func.count(Message.id).desc())
    ).all()
    return [(str(key) if key else "—", int(n)) for key, n in rows]


def stats(session: Session, settings: Settings, days: int) -> Stats:
    since = now() - timedelta(days=days)
    inbound = (
        session.scalar(
            select(func.count(Message.id)).where(
                Message.direction == Direction.IN, Message.created_at >= since
            )
        )
        or 0
    )
    handled = Message.direction == Direction.IN, Message.status == InStatus.HANDLED
    answered = (
        session.scalar(select(func.count(Message.id)).where(*handled, Message.created_at >= since))
        or 0
    )
    unclear = or_(Message.topic.is_(None), Message.topic.in_(NOT_UNDERSTOOD_TOPICS))
    fallbacks = session.scalars(
        select(Message)
        .where(*handled, Message.created_at >= since, unclear)
        .order_by(Message.id.desc())
    ).all()
    conversations = (
        session.scalar(select(func.count(Conversation.id)).where(Conversation.opened_at >= since))
        or 0
    )
    handoffs = session.scalars(select(Handoff).where(Handoff.opened_at >= since)).all()
    waits = [
        (h.first_response_at - h.opened_at).total_seconds()
        for h in handoffs
        if h.first_response_at is not None
    ]
    breaches = 0
    for h in handoffs:
        answered_at = h.first_response_at or h.closed_at or now()
        if answered_at - h.opened_at > sla_target(settings, h.urgent):
            breaches += 1
    return Stats(
        since=since,
        inbound=inbound,
        by_topic=_grouped(session, Message.topic, since),
        by_lang=_grouped(session, func.coalesce(Contact.lang, settings.default_lang), since),
        by_channel=_grouped(session, Message.channel, since),
        conversations=conversations,
        handoffs=len(handoffs),
        handoff_rate=len({h.conversation_id for h in handoffs}) / conversations
        if conversations
        else 0.0,
        fallback_rate=len(fallbacks) / answered if answered else 0.0,
        median_first_response_s=statistics.median(waits) if waits else None,
        sla_breaches=breaches,
        not_understood=[
            (m.id, m.created_at, m.lang or "", m.text or m.payload or "", m.topic)
            for m in fallbacks[:100]
        ],
    )

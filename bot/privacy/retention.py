"""Retention: idle conversations close, closed ones are purged after their service's period.

A conversation closes when nothing has been written in it for ``conversation_idle_days`` (the
person's next message opens a new one). A closed conversation is purged — messages, handoff,
intake, notes, by the database's cascades — once it has been closed for the retention period of
its service (the service of its latest service topic: ``return``, ``family_reunification``,
``resettlement``, ``labour_market``, ``cd4d``, else ``general``). People who never accepted the
privacy notice are purged after ``unconsented_retention_days``. A conversation a counsellor
holds, or with an appointment to come, is neither closed nor purged. A person left with no
conversation is removed altogether, Rasa's tracker events included. Each run records counts per
service in ``retention_purges``.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, delete, exists, func, or_, select, text, update
from sqlalchemy.orm import Session, sessionmaker

from bot.config import Settings
from bot.privacy.providers import queue_deletions
from bot.privacy.subject import erase_from_tracker, tracker_engine
from bot.storage.models import (
    Appointment,
    AppointmentStatus,
    Contact,
    Conversation,
    Direction,
    Handoff,
    Message,
    RetentionPurge,
)
from bot.topics import SERVICE_OF_TOPIC

log = logging.getLogger(__name__)

ACTIVE_APPOINTMENTS = (AppointmentStatus.SCHEDULED, AppointmentStatus.CONFIRMED)
GENERAL = "general"
NO_CONSENT = "no_consent"


@dataclass(frozen=True)
class Policy:
    idle: timedelta
    default_days: int
    days_by_service: dict[str, int]
    unconsented_days: int

    def days(self, service: str) -> int:
        if service == NO_CONSENT:
            return self.unconsented_days
        return self.days_by_service.get(service, self.default_days)


def retention_for(settings: Settings, sessions: sessionmaker[Session]) -> Retention:
    policy = Policy(
        idle=timedelta(days=settings.conversation_idle_days),
        default_days=settings.retention_days,
        days_by_service=settings.retention_days_by_service,
        unconsented_days=settings.unconsented_retention_days,
    )
    return Retention(sessions, policy, settings.tracker_url)


class Retention:
    def __init__(
        self, sessions: sessionmaker[Session], policy: Policy, tracker_url: str | None
    ) -> None:
        self.sessions = sessions
        self.policy = policy
        self.tracker_url = tracker_url

    def run(self, at: datetime) -> list[RetentionPurge]:
        """Close idle conversations, then purge what is past its period. Returns the records."""
        with self.sessions.begin() as session:
            closed = self.close_idle(session, at)
            records = self.purge(session, at)
        log.info(
            "retention run",
            extra={"closed": closed, "purged": sum(r.conversations for r in records)},
        )
        return records

    @staticmethod
    def _in_use(at: datetime) -> ColumnElement[bool]:
        """A counsellor holds the conversation, or it has an appointment to come."""
        return or_(
            exists().where(Handoff.conversation_id == Conversation.id, Handoff.is_open),
            exists().where(
                Appointment.conversation_id == Conversation.id,
                Appointment.status.in_(ACTIVE_APPOINTMENTS),
                Appointment.starts_at > at,
            ),
        )

    def close_idle(self, session: Session, at: datetime) -> int:
        last = (
            select(func.max(Message.created_at))
            .where(Message.conversation_id == Conversation.id)
            .scalar_subquery()
        )
        idle = session.execute(
            select(Conversation, last).where(
                Conversation.closed_at.is_(None), ~self._in_use(at), last < at - self.policy.idle
            )
        ).all()
        for conversation, last_at in idle:
            conversation.closed_at = last_at
        return len(idle)

    # A conversation's latest service topic (correlated: one statement for all of them).
    _service_topic = (
        select(Message.topic)
        .where(
            Message.conversation_id == Conversation.id,
            Message.direction == Direction.IN,
            Message.topic.in_(SERVICE_OF_TOPIC),
        )
        .order_by(Message.id.desc())
        .limit(1)
        .correlate(Conversation)
        .scalar_subquery()
    )

    def _due(self, session: Session, at: datetime) -> dict[int, str]:
        """Conversations past their period, with the service each was counted under."""
        due: dict[int, str] = {}
        shortest = min([self.policy.default_days, *self.policy.days_by_service.values()])
        closed = session.execute(
            select(Conversation.id, Conversation.closed_at, self._service_topic).where(
                Conversation.closed_at < at - timedelta(days=shortest), ~self._in_use(at)
            )
        ).all()
        for conversation_id, closed_at, topic in closed:
            service = SERVICE_OF_TOPIC.get(topic or "", GENERAL)
            if closed_at and closed_at < at - timedelta(days=self.policy.days(service)):
                due[conversation_id] = service
        unconsented = session.scalars(
            select(Conversation.id)
            .join(Contact, Contact.id == Conversation.contact_id)
            .where(
                Contact.consent_at.is_(None),
                Contact.last_inbound_at < at - timedelta(days=self.policy.unconsented_days),
                ~self._in_use(at),
            )
        ).all()
        for conversation_id in unconsented:
            due.setdefault(conversation_id, NO_CONSENT)
        return due

    def purge(self, session: Session, at: datetime) -> list[RetentionPurge]:
        due = self._due(session, at)
        if not due:
            return []
        ids = list(due)
        rows = session.execute(
            select(Conversation.id, Conversation.contact_id).where(Conversation.id.in_(ids))
        ).all()
        messages = Counter(
            dict(
                session.execute(
                    select(Message.conversation_id, func.count(Message.id))
                    .where(Message.conversation_id.in_(ids))
                    .group_by(Message.conversation_id)
                ).all()
            )
        )
        queue_deletions(session, Message.conversation_id.in_(ids))  # their copies at Twilio
        session.execute(
            update(Message).where(Message.conversation_id.in_(ids)).values(in_reply_to_id=None)
        )
        session.execute(delete(Conversation).where(Conversation.id.in_(ids)))
        removed = self._remove_empty_contacts(session, {r.contact_id for r in rows})
        records: dict[str, RetentionPurge] = {}
        for conversation_id, contact_id in rows:
            service = due[conversation_id]
            record = records.setdefault(
                service,
                RetentionPurge(
                    purged_at=at,
                    service=service,
                    retention_days=self.policy.days(service),
                    conversations=0,
                    messages=0,
                    contacts=0,
                ),
            )
            record.conversations += 1
            record.messages += messages[conversation_id]
            record.contacts += contact_id in removed
            removed.discard(contact_id)  # a person counts once
        session.add_all(records.values())
        return list(records.values())

    def _remove_empty_contacts(self, session: Session, contact_ids: set[int]) -> set[int]:
        """Remove people with nothing left; trim Rasa's memory of the others to what is kept."""
        remaining = exists().where(Conversation.contact_id == Contact.id)
        empty = session.execute(
            select(Contact.id, Contact.rasa_sender_id).where(
                Contact.id.in_(contact_ids), ~remaining
            )
        ).all()
        removed = {contact_id for contact_id, _ in empty}
        if removed:
            session.execute(delete(Contact).where(Contact.id.in_(removed)))
        if self.tracker_url:
            for _, sender_id in empty:
                erase_from_tracker(self.tracker_url, sender_id)
            self._trim_tracker(session, contact_ids - removed)
        return removed

    def _trim_tracker(self, session: Session, contact_ids: set[int]) -> None:
        """Delete Rasa events older than the person's oldest kept conversation (all, if none)."""
        if not contact_ids or not self.tracker_url:
            return
        oldest = (
            select(func.min(Conversation.opened_at))
            .where(Conversation.contact_id == Contact.id)
            .scalar_subquery()
        )
        kept = session.execute(
            select(Contact.rasa_sender_id, oldest).where(Contact.id.in_(contact_ids))
        ).all()
        engine = tracker_engine(self.tracker_url)
        if engine is None:
            return
        try:
            with engine.begin() as conn:
                if engine.dialect.name == "sqlite":
                    conn.execute(text("PRAGMA secure_delete = ON"))
                for sender_id, since in kept:
                    before = since.timestamp() if since else float("inf")
                    conn.execute(
                        text("DELETE FROM events WHERE sender_id = :s AND timestamp < :t"),
                        {"s": sender_id, "t": before},
                    )
        finally:
            engine.dispose()

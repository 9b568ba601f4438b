"""Appointments from the conversation view: a counsellor schedules an appointment, flight or
call-back (reminders follow, see bot/reminders.py and docs/reminders.md) or cancels one, and sees
each reminder's delivery state."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot import reminders
from bot.config import Settings
from bot.inbox.conversation import Conflict, NotFound, audit
from bot.inbox.web import Actor
from bot.storage.models import (
    Appointment,
    AppointmentStatus,
    Contact,
    Conversation,
    Direction,
    Message,
    Reminder,
)

KINDS = ("appointment", "flight", "callback")


@dataclass(frozen=True)
class ReminderLine:
    due_at: datetime
    status: str  # the reminder's status, or its message's delivery status once queued
    error: str | None


@dataclass(frozen=True)
class AppointmentLine:
    appointment: Appointment
    reminders: list[ReminderLine]


def listing(session: Session, conversation_id: int) -> list[AppointmentLine]:
    contact_id = session.scalar(
        select(Conversation.contact_id).where(Conversation.id == conversation_id)
    )
    appointments = session.scalars(
        select(Appointment)
        .where(Appointment.contact_id == contact_id)
        .order_by(Appointment.starts_at.desc())
        .limit(20)
    ).all()
    lines = []
    for appointment in appointments:
        rows = session.execute(
            select(Reminder, Message.status, Message.error)
            .outerjoin(Message, Message.id == Reminder.message_id)
            .where(Reminder.appointment_id == appointment.id)
            .order_by(Reminder.due_at)
        ).all()
        lines.append(
            AppointmentLine(
                appointment,
                [
                    ReminderLine(r.due_at, str(status or r.status), error)
                    for r, status, error in rows
                ],
            )
        )
    return lines


def schedule(
    session: Session,
    settings: Settings,
    actor: Actor,
    conversation_id: int,
    *,
    kind: str,
    day: str,
    at: str,
    zone: str,
) -> int:
    conversation = session.get(Conversation, conversation_id)
    if conversation is None:
        raise NotFound(conversation_id)
    if kind not in KINDS:
        raise Conflict("appointment-kind")
    try:
        tz = ZoneInfo(zone or settings.default_timezone)
        starts = datetime.combine(date.fromisoformat(day), time.fromisoformat(at), tz)
    except (ValueError, ZoneInfoNotFoundError) as exc:
        raise Conflict("appointment-time") from exc
    contact = session.get_one(Contact, conversation.contact_id)
    channel = session.scalar(
        select(Message.channel)
        .where(Message.contact_id == contact.id, Message.direction == Direction.IN)
        .order_by(Message.id.desc())
    )
    try:
        appointment = reminders.schedule(
            session,
            contact,
            kind=kind,
            starts_at=starts,
            offsets_hours=settings.reminder_offsets_hours,
            quiet=reminders.QuietHours.parse(
                settings.reminder_quiet_start, settings.reminder_quiet_end
            ),
            timezone=str(tz),
            channel=channel or "web",
            created_by_id=actor.user_id,
        )
    except ValueError as exc:
        raise Conflict("appointment-past") from exc
    audit(session, actor, "appointment", conversation_id, f"kind:{kind}")
    return appointment.id


def cancel(session: Session, actor: Actor, conversation_id: int, appointment_id: int) -> None:
    appointment = session.get(Appointment, appointment_id)
    conversation = session.get(Conversation, conversation_id)
    if appointment is None or conversation is None:
        raise NotFound(appointment_id)
    if appointment.contact_id != conversation.contact_id:
        raise NotFound(appointment_id)
    if appointment.status in (AppointmentStatus.CANCELLED, AppointmentStatus.DONE):
        return
    reminders.cancel(session, appointment)
    audit(session, actor, "appointment-cancel", conversation_id)

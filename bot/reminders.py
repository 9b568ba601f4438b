"""Appointment and flight reminders: when they are due, and turning due ones into outbox messages.

A due reminder becomes exactly one outbound message, in one transaction that also marks it
``queued`` (PostgreSQL: rows locked with SKIP LOCKED so several workers share the work; SQLite: a
conditional update, one claimer wins). From then on the outbox delivers it like any message: the
person's channel, the WhatsApp template outside the 24-hour window, SMS fallback with consent,
retries, and an expiry at the appointment time so it is never sent afterwards.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from babel.dates import format_datetime
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from bot.engine.nlg import Renderer
from bot.storage.db import is_postgresql
from bot.storage.models import (
    Appointment,
    AppointmentStatus,
    Author,
    Contact,
    Direction,
    Message,
    OutStatus,
    Reminder,
    ReminderStatus,
)
from bot.storage.repo import now, open_conversation, rowcount

log = logging.getLogger(__name__)

REMINDER_TEMPLATE = "appointment_reminder"  # the approved WhatsApp template for reminders
RESPONSES = {
    "appointment": "utter_reminder_appointment",
    "flight": "utter_reminder_flight",
    "callback": "utter_reminder_callback",
}
ANSWERS = {  # payloads of the reminder's buttons → new appointment status, reply
    "appt:confirm": (AppointmentStatus.CONFIRMED, "utter_appointment_confirmed"),
    "appt:cancel": (AppointmentStatus.CANCELLED, "utter_appointment_cancelled"),
    "appt:reschedule": (AppointmentStatus.RESCHEDULE_REQUESTED, "utter_appointment_reschedule"),
}


@dataclass(frozen=True)
class QuietHours:
    start: time
    end: time

    @classmethod
    def parse(cls, start: str, end: str) -> QuietHours:
        return cls(time.fromisoformat(start), time.fromisoformat(end))

    def contains(self, local: datetime) -> bool:
        t = local.timetz().replace(tzinfo=None)
        if self.start <= self.end:
            return self.start <= t < self.end
        return t >= self.start or t < self.end


def due_time(
    starts_at: datetime, offset: timedelta, zone: ZoneInfo, quiet: QuietHours
) -> datetime | None:
    """When to send a reminder ``offset`` before ``starts_at``, outside the person's quiet hours.

    In quiet hours it moves to the morning after, if that is still before the appointment;
    otherwise to the evening before the quiet hours began. None if there is no such time.
    """
    due = (starts_at.astimezone(UTC) - offset).astimezone(zone)  # elapsed hours, not wall time
    if not quiet.contains(due):
        return due.astimezone(UTC)
    day = due.date() if due.timetz().replace(tzinfo=None) < quiet.end else due.date() + timedelta(1)
    morning = datetime.combine(day, quiet.end, zone)
    if morning < starts_at:
        return morning.astimezone(UTC)
    start_day = day - timedelta(1) if quiet.start > quiet.end else day
    evening = datetime.combine(start_day, quiet.start, zone) - timedelta(minutes=1)
    return evening.astimezone(UTC) if evening < starts_at else None


def schedule(
    session: Session,
    contact: Contact,
    *,
    kind: str,
    starts_at: datetime,
    offsets_hours: list[float],
    quiet: QuietHours,
    timezone: str,
    channel: str,
    created_by_id: int | None = None,
) -> Appointment:
    """Create an appointment and its reminders (those whose time has not passed)."""
    if kind not in RESPONSES:
        raise ValueError(f"kind must be one of {sorted(RESPONSES)}")
    if starts_at <= now():
        raise ValueError("the appointment must be in the future")
    conversation = open_conversation(session, contact)
    appointment = Appointment(
        contact_id=contact.id,
        conversation_id=conversation.id,
        kind=kind,
        starts_at=starts_at,
        timezone=timezone,
        channel=channel,
        created_by_id=created_by_id,
    )
    session.add(appointment)
    session.flush()
    _add_reminders(session, appointment, offsets_hours, quiet)
    return appointment


def _add_reminders(
    session: Session, appointment: Appointment, offsets_hours: list[float], quiet: QuietHours
) -> None:
    zone = ZoneInfo(appointment.timezone)
    times = {
        due
        for hours in offsets_hours
        if (due := due_time(appointment.starts_at, timedelta(hours=hours), zone, quiet))
        and due > now()
    }
    for due in sorted(times):
        session.add(Reminder(appointment_id=appointment.id, due_at=due))


def cancel(session: Session, appointment: Appointment) -> None:
    appointment.status = AppointmentStatus.CANCELLED
    _cancel_pending(session, appointment.id)


def reschedule(
    session: Session,
    appointment: Appointment,
    starts_at: datetime,
    offsets_hours: list[float],
    quiet: QuietHours,
) -> None:
    if starts_at <= now():
        raise ValueError("the appointment must be in the future")
    _cancel_pending(session, appointment.id)
    appointment.starts_at = starts_at
    appointment.status = AppointmentStatus.SCHEDULED
    _add_reminders(session, appointment, offsets_hours, quiet)


def _cancel_pending(session: Session, appointment_id: int) -> None:
    session.execute(
        update(Reminder)
        .where(Reminder.appointment_id == appointment_id, Reminder.status == ReminderStatus.PENDING)
        .values(status=ReminderStatus.CANCELLED)
    )


class ReminderQueue:
    """Turns due reminders into outbox messages (run by the worker)."""

    def __init__(
        self, sessions: sessionmaker[Session], renderer: Renderer, default_lang: str = "en"
    ) -> None:
        self.sessions = sessions
        self.renderer = renderer
        self.default_lang = default_lang

    def queue_due(self, limit: int = 100) -> int:
        """Queue up to ``limit`` due reminders; returns how many were handled."""
        with self.sessions.begin() as session:
            query = (
                select(Reminder)
                .where(Reminder.status == ReminderStatus.PENDING, Reminder.due_at <= now())
                .order_by(Reminder.due_at, Reminder.id)
                .limit(limit)
            )
            if is_postgresql(session):
                query = query.with_for_update(skip_locked=True)
            due = session.scalars(query).all()
            for reminder in due:
                self._queue(session, reminder)
        return len(due)

    def _queue(self, session: Session, reminder: Reminder) -> None:
        # The conditional update makes one claimer win on SQLite, where rows are not locked.
        won = rowcount(
            session.execute(
                update(Reminder)
                .where(Reminder.id == reminder.id, Reminder.status == ReminderStatus.PENDING)
                .values(status=ReminderStatus.QUEUED)
            )
        )
        if not won:
            return
        appointment = session.get_one(Appointment, reminder.appointment_id)
        if appointment.status in (AppointmentStatus.CANCELLED, AppointmentStatus.DONE):
            reminder.status = ReminderStatus.CANCELLED
            return
        if appointment.starts_at <= now():
            reminder.status = ReminderStatus.EXPIRED
            return
        contact = session.get_one(Contact, appointment.contact_id)
        lang = contact.lang or self.default_lang
        name = RESPONSES[appointment.kind]
        when = format_datetime(
            appointment.starts_at,
            "EEEE d MMMM HH:mm",
            tzinfo=ZoneInfo(appointment.timezone),
            locale=lang,
        )
        rendered = self.renderer.render(name, lang, values={"when": when})
        message = Message(
            direction=Direction.OUT,
            status=OutStatus.QUEUED,
            author=Author.SYSTEM,
            conversation_id=appointment.conversation_id,
            contact_id=contact.id,
            channel=appointment.channel,
            text=rendered["text"],
            buttons=rendered.get("buttons"),
            lang=lang,
            template=REMINDER_TEMPLATE,
            expires_at=appointment.starts_at,
        )
        session.add(message)
        session.flush()
        reminder.message_id = message.id
        log.info("reminder queued", extra={"message_id": message.id, "channel": message.channel})


def answer(session: Session, contact_id: int, payload: str) -> str | None:
    """Apply a reply to a reminder to the person's next appointment; the response to send."""
    if payload not in ANSWERS:
        return None
    appointment = session.scalar(
        select(Appointment)
        .where(
            Appointment.contact_id == contact_id,
            Appointment.starts_at > now(),
            Appointment.status.in_([AppointmentStatus.SCHEDULED, AppointmentStatus.CONFIRMED]),
        )
        .order_by(Appointment.starts_at)
    )
    if appointment is None:
        return "utter_appointment_none"
    status, response = ANSWERS[payload]
    if status == AppointmentStatus.CANCELLED:
        cancel(session, appointment)
    else:
        appointment.status = status
    log.info("appointment answered", extra={"status": str(status)})
    return response

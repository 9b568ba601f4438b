"""Reminders: due times (offsets, quiet hours, daylight saving), exactly one message per due
reminder, never after the appointment, cancellation and rescheduling, answers to a reminder."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, update

from bot.messages import InboundMessage
from bot.reminders import QuietHours, cancel, due_time, reschedule, schedule
from bot.services import Services
from bot.storage.models import (
    Appointment,
    AppointmentStatus,
    Direction,
    Handoff,
    InStatus,
    Message,
    OutStatus,
    Reminder,
    ReminderStatus,
)
from bot.storage.repo import get_or_create_contact, store_inbound

AMS = ZoneInfo("Europe/Amsterdam")
QUIET = QuietHours.parse("21:00", "08:00")


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=AMS)


@pytest.mark.parametrize(
    ("starts", "hours", "expected"),
    [
        (local(2026, 12, 10, 14, 0), 24, local(2026, 12, 9, 14, 0)),  # plain offset
        (local(2026, 12, 10, 14, 0), 2, local(2026, 12, 10, 12, 0)),
        (local(2026, 12, 10, 9, 0), 2, local(2026, 12, 10, 8, 0)),  # 07:00 is quiet → 08:00
        (local(2026, 12, 10, 7, 30), 24, local(2026, 12, 9, 8, 0)),
        (local(2026, 12, 10, 6, 0), 2, local(2026, 12, 9, 20, 59)),  # 08:00 too late → evening
        (local(2026, 12, 10, 22, 30), 1, local(2026, 12, 10, 20, 59)),
    ],
)
def test_due_time_respects_quiet_hours(starts: datetime, hours: float, expected: datetime) -> None:
    assert due_time(starts, timedelta(hours=hours), AMS, QUIET) == expected.astimezone(UTC)


def test_due_time_across_the_daylight_saving_change() -> None:
    # Summer time ends at 03:00 on 25 October 2026. Offsets are elapsed hours: 24 hours before
    # 10:00 CET on the 25th is 11:00 CEST on the 24th.
    starts = local(2026, 10, 25, 10, 0)
    due = due_time(starts, timedelta(hours=24), AMS, QUIET)
    assert due == starts.astimezone(UTC) - timedelta(hours=24)
    assert due is not None and due.astimezone(AMS).hour == 11


def make_appointment(svc: Services, starts_in: timedelta, offsets: list[float]) -> Appointment:
    with svc.sessions.begin() as db:
        contact = get_or_create_contact(db, svc.keys, "sms:+31600000099")
        contact.lang = "nl"
        return schedule(
            db,
            contact,
            kind="appointment",
            starts_at=datetime.now(UTC) + starts_in,
            offsets_hours=offsets,
            quiet=QuietHours.parse("00:00", "00:00"),
            timezone="Europe/Amsterdam",
            channel="sms",
        )


def reminders_of(svc: Services, appointment_id: int) -> list[Reminder]:
    with svc.sessions() as db:
        return list(
            db.scalars(
                select(Reminder)
                .where(Reminder.appointment_id == appointment_id)
                .order_by(Reminder.id)
            ).all()
        )


def make_due(svc: Services, appointment_id: int) -> None:
    with svc.sessions.begin() as db:
        db.execute(
            update(Reminder)
            .where(Reminder.appointment_id == appointment_id)
            .values(due_at=datetime.now(UTC) - timedelta(seconds=1))
        )


def test_past_offsets_get_no_reminder(services: Services) -> None:
    appointment = make_appointment(services, timedelta(hours=5), [24, 2])
    [only] = reminders_of(services, appointment.id)  # 24 h before is already past
    assert only.due_at > datetime.now(UTC)


def test_a_due_reminder_becomes_one_message_in_the_persons_language(services: Services) -> None:
    appointment = make_appointment(services, timedelta(hours=30), [24, 2])
    assert services.reminders.queue_due() == 0  # nothing due yet
    make_due(services, appointment.id)
    assert services.reminders.queue_due() == 2
    assert services.reminders.queue_due() == 0  # never twice
    with services.sessions() as db:
        messages = db.scalars(select(Message).where(Message.direction == Direction.OUT)).all()
    assert len(messages) == 2
    first = messages[0]
    assert first.text is not None and first.text.startswith("Herinnering van IOM Nederland")
    assert first.template == "appointment_reminder"
    assert first.expires_at == appointment.starts_at
    assert [b["payload"] for b in first.buttons or []] == [
        "appt:confirm",
        "appt:cancel",
        "appt:reschedule",
    ]
    assert {r.status for r in reminders_of(services, appointment.id)} == {ReminderStatus.QUEUED}


def test_reminders_are_never_sent_after_the_appointment(services: Services) -> None:
    appointment = make_appointment(services, timedelta(hours=30), [2])
    with services.sessions.begin() as db:
        db.execute(update(Appointment).values(starts_at=datetime.now(UTC) - timedelta(minutes=1)))
    make_due(services, appointment.id)
    services.reminders.queue_due()
    [reminder] = reminders_of(services, appointment.id)
    assert reminder.status == ReminderStatus.EXPIRED
    assert reminder.message_id is None


def test_an_expired_outbox_message_is_not_sent(services: Services) -> None:
    appointment = make_appointment(services, timedelta(hours=30), [2])
    make_due(services, appointment.id)
    services.reminders.queue_due()
    with services.sessions.begin() as db:
        db.execute(update(Message).values(expires_at=datetime.now(UTC) - timedelta(seconds=1)))
    services.sender.send_next()
    with services.sessions() as db:
        message = db.scalars(select(Message)).one()
    assert (message.status, message.error) == (OutStatus.FAILED, "expired")


def test_cancel_and_reschedule(services: Services) -> None:
    appointment = make_appointment(services, timedelta(hours=30), [24, 2])
    with services.sessions.begin() as db:
        row = db.get_one(Appointment, appointment.id)
        reschedule(db, row, datetime.now(UTC) + timedelta(hours=50), [24], QUIET_NONE)
    statuses = [r.status for r in reminders_of(services, appointment.id)]
    assert statuses == [ReminderStatus.CANCELLED, ReminderStatus.CANCELLED, ReminderStatus.PENDING]
    with services.sessions.begin() as db:
        cancel(db, db.get_one(Appointment, appointment.id))
    assert all(r.status == ReminderStatus.CANCELLED for r in reminders_of(services, appointment.id))


QUIET_NONE = QuietHours.parse("00:00", "00:00")


@pytest.mark.parametrize(
    ("answer", "status", "handoff"),
    [
        ("1", AppointmentStatus.CONFIRMED, False),  # SMS: numbered option 1 = confirm
        ("2", AppointmentStatus.CANCELLED, True),
        ("3", AppointmentStatus.RESCHEDULE_REQUESTED, True),
    ],
)
def test_replies_to_a_reminder_update_the_appointment(
    services: Services, answer: str, status: AppointmentStatus, handoff: bool
) -> None:
    appointment = make_appointment(services, timedelta(hours=30), [2])
    make_due(services, appointment.id)
    services.reminders.queue_due()
    with services.sessions.begin() as db:  # the person answers on SMS
        message_id = store_inbound(
            db,
            services.keys,
            InboundMessage(
                urn="sms:+31600000099",
                channel="sms",
                channel_message_id=f"SMans{answer}",
                received_at=datetime.now(UTC),
                text=answer,
            ),
        ).id
    assert services.pipeline.process_next()
    with services.sessions() as db:
        assert db.get_one(Message, message_id).status == InStatus.HANDLED
        assert db.get_one(Appointment, appointment.id).status == status
        replies = db.scalars(select(Message).where(Message.in_reply_to_id == message_id)).all()
        handoffs = db.scalars(select(Handoff)).all()
    assert len(replies) == 1
    assert bool(handoffs) is handoff

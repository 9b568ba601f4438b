"""Reminders end to end: a worker killed mid-batch (the bench, small), and WhatsApp's 63016
failure answered by SMS when the person agreed to SMS."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from bot.bench.reminders import run
from bot.reminders import QuietHours, schedule
from bot.storage.models import Contact, Direction, Message, OutStatus, Reminder

from .conftest import Stack
from .test_channels import new_phone, payload, sent_to, signed_post, twilio_form, wait_for


def test_a_worker_killed_mid_batch_loses_nothing_and_sends_nothing_twice() -> None:
    result = run(count=200, rate=50)
    assert result["sent"] == 200
    assert result["lost"] == 0
    assert result["duplicates"] == 0


def test_the_outbox_loops_send_side_by_side() -> None:
    """Against a slow Twilio API the worker's two outbox loops (``BAKEN_OUTBOX_CONCURRENCY``)
    have sends in flight together; still none lost or sent twice across the kill."""
    result = run(count=40, rate=1000, twilio_latency_s=0.3)
    assert (result["sent"], result["lost"], result["duplicates"]) == (40, 0, 0)
    assert result["twilio_most_in_flight"] > 1


@pytest.mark.stack
def test_reminder_on_whatsapp_falls_back_to_sms_after_63016(stack: Stack) -> None:
    phone = new_phone()
    signed_post(stack, "/webhooks/twilio", twilio_form("whatsapp_text", phone, Body="English"))
    wait_for(lambda: sent_to(stack, f"whatsapp:{phone}"))
    sessions = stack.sessions()
    with sessions.begin() as db:
        contact = next(c for c in db.scalars(select(Contact)).all() if c.urn == f"tel:{phone}")
        contact.sms_consent = True
        appointment = schedule(
            db,
            contact,
            kind="appointment",
            starts_at=datetime.now(UTC) + timedelta(hours=5),
            offsets_hours=[2],
            quiet=QuietHours.parse("00:00", "00:00"),
            timezone="Europe/Amsterdam",
            channel="whatsapp",
        )
        db.flush()
        db.execute(
            update(Reminder)
            .where(Reminder.appointment_id == appointment.id)
            .values(due_at=datetime.now(UTC) - timedelta(seconds=1))
        )
    reminder = wait_for(
        lambda: [m for m in sent_to(stack, f"whatsapp:{phone}") if "Reminder" in m.get("Body", "")]
    )[0]
    assert "1. I will come" in reminder["Body"]

    def sent_row() -> Message | None:
        with sessions() as db:
            return db.scalars(
                select(Message).where(
                    Message.direction == Direction.OUT,
                    Message.template == "appointment_reminder",
                    Message.status == OutStatus.SENT,
                )
            ).first()

    row = wait_for(sent_row)
    failed = payload("twilio/status_delivered.json")
    failed.update(
        MessageSid=row.channel_message_id,
        SmsSid=row.channel_message_id,
        MessageStatus="undelivered",
        SmsStatus="undelivered",
        ErrorCode="63016",
    )
    assert signed_post(stack, "/webhooks/twilio/status", failed).status_code == 204
    [sms] = wait_for(lambda: sent_to(stack, phone))
    assert sms["Body"] == reminder["Body"]
    with sessions() as db:
        assert db.get_one(Message, row.id).status == OutStatus.FAILED

"""A counsellor schedules an appointment from the conversation: reminders are created at the right
times in the person's zone, shown with their state, and cancelled with the appointment."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from bot.storage.models import Appointment, AppointmentStatus, Reminder, ReminderStatus

from .conftest import Stack
from .inbox import add_user, conversation_id, csrf_of, hand_off, login

pytestmark = pytest.mark.stack
AMS = ZoneInfo("Europe/Amsterdam")


def test_schedule_show_and_cancel_an_appointment(stack: Stack, session_id: str) -> None:
    marker = f"need an appointment {uuid.uuid4().hex[:6]}"
    hand_off(stack, session_id, marker)
    username, _ = add_user()
    http = login(stack, username)
    conversation = conversation_id(http, marker)
    token = csrf_of(http)
    url = f"/inbox/conversations/{conversation}/appointments"
    day = (date.today() + timedelta(days=3)).isoformat()
    form = {
        "csrf": token,
        "kind": "appointment",
        "day": day,
        "at": "14:30",
        "zone": "Europe/Amsterdam",
    }
    assert http.post(url, data={**form, "at": "25:99"}).status_code == 409
    assert http.post(url, data={**form, "day": "2020-01-01"}).status_code == 409
    assert http.post(url, data={**form, "kind": "party"}).status_code == 409
    assert http.post(url, data={k: v for k, v in form.items() if k != "csrf"}).status_code == 403
    response = http.post(url, data=form)
    assert response.status_code == 303
    with stack.sessions()() as db:
        appointment = db.scalars(
            select(Appointment).where(Appointment.conversation_id == conversation)
        ).one()
        reminders = db.scalars(
            select(Reminder)
            .where(Reminder.appointment_id == appointment.id)
            .order_by(Reminder.due_at)
        ).all()
    starts = datetime.fromisoformat(f"{day}T14:30").replace(tzinfo=AMS)
    assert appointment.starts_at == starts
    assert appointment.channel == "web"
    assert [r.due_at for r in reminders] == [
        starts - timedelta(hours=24),
        starts - timedelta(hours=2),
    ]
    page = http.get(f"/inbox/conversations/{conversation}").text
    assert "14:30" in page and "Europe/Amsterdam" in page
    cancel = f"{url}/{appointment.id}/cancel"
    assert http.post(cancel, data={"csrf": token}).status_code == 303
    with stack.sessions()() as db:
        assert db.get_one(Appointment, appointment.id).status == AppointmentStatus.CANCELLED
        statuses = {
            r.status
            for r in db.scalars(select(Reminder).where(Reminder.appointment_id == appointment.id))
        }
    assert statuses == {ReminderStatus.CANCELLED}

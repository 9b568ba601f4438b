"""Two workers on PostgreSQL claiming the same due reminders: each becomes exactly one message."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select, update

from bot.config import Settings
from bot.reminders import QuietHours, schedule
from bot.services import build_services
from bot.storage.models import Message, Reminder, ReminderStatus
from bot.storage.repo import get_or_create_contact


def test_two_workers_share_the_due_set_without_duplicates(settings: Settings, pg_url: str) -> None:
    settings.database_url = pg_url
    first, second = build_services(settings), build_services(settings)
    count = 300
    with first.sessions.begin() as db:
        for n in range(count):
            contact = get_or_create_contact(db, first.keys, f"sms:+316100{n:05d}")
            schedule(
                db,
                contact,
                kind="appointment",
                starts_at=datetime.now(UTC) + timedelta(hours=3),
                offsets_hours=[1],
                quiet=QuietHours.parse("00:00", "00:00"),
                timezone="Europe/Amsterdam",
                channel="sms",
            )
        db.execute(update(Reminder).values(due_at=datetime.now(UTC) - timedelta(seconds=1)))
    handled = {"first": 0, "second": 0}

    def drain(name: str, queue_due: object) -> None:
        while (n := queue_due(limit=7)) > 0:  # type: ignore[operator]
            handled[name] += n

    threads = [
        threading.Thread(target=drain, args=("first", first.reminders.queue_due)),
        threading.Thread(target=drain, args=("second", second.reminders.queue_due)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    with first.sessions() as db:
        messages = db.scalar(select(func.count(Message.id)))
        queued = db.scalar(
            select(func.count(Reminder.id)).where(Reminder.status == ReminderStatus.QUEUED)
        )
        linked = db.scalar(select(func.count(func.distinct(Reminder.message_id))))
    assert (messages, queued, linked) == (count, count, count)
    assert handled["first"] > 0 and handled["second"] > 0  # both really worked
    first.close()
    second.close()

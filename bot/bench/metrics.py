"""``baken bench metrics``: what one ``GET /metrics`` scrape costs the database.

Fills a fresh database with N messages (both directions, four channels, every status, a queue of
pending and queued ones), waiting handoffs and due reminders, then times the scrape's database
part (``DatabaseCollector``, the same code ``/metrics`` runs) over a number of scrapes.

The database is ``--database-url`` (it must be empty: the bench migrates it and fills it) or a
temporary SQLite file.
"""

from __future__ import annotations

import secrets
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet
from prometheus_client import CollectorRegistry, generate_latest
from sqlalchemy import Engine, insert, text

from bot.config import Settings
from bot.metrics import DatabaseCollector
from bot.services import build_services
from bot.storage.db import migrate
from bot.storage.models import (
    Appointment,
    Contact,
    Conversation,
    Handoff,
    InStatus,
    Message,
    OutStatus,
    Reminder,
)

CHANNELS = ("whatsapp", "sms", "telegram", "web")
CONTACTS = 1000
BATCH = 10_000


def _fill(engine: Engine, messages: int) -> None:
    started = datetime.now(UTC) - timedelta(days=30)
    with engine.begin() as db:
        db.execute(
            insert(Contact),
            [
                {
                    "id": n,
                    "urn_hash": f"h{n:063d}",
                    "urn": f"web:bench-{n}",
                    "scheme": "web",
                    "rasa_sender_id": f"p{n:032d}",
                    "created_at": started,
                }
                for n in range(1, CONTACTS + 1)
            ],
        )
        db.execute(
            insert(Conversation),
            [{"id": n, "contact_id": n, "opened_at": started} for n in range(1, CONTACTS + 1)],
        )
    done_in = (InStatus.HANDLED, InStatus.HELD)
    done_out = (OutStatus.SENT, OutStatus.DELIVERED, OutStatus.READ, OutStatus.FAILED)
    for first in range(0, messages, BATCH):
        rows: list[dict[str, Any]] = []
        for n in range(first, min(first + BATCH, messages)):
            inbound = n % 2 == 0
            # About 1 in 1000 still waiting: the queue a busy moment leaves.
            waiting = n % 1000 in (0, 1)
            status: str
            if inbound:
                status = InStatus.PENDING if waiting else done_in[n % 7 == 0]
            else:
                status = OutStatus.QUEUED if waiting else done_out[n % 4]
            rows.append(
                {
                    "direction": "in" if inbound else "out",
                    "status": status,
                    "author": "person" if inbound else "bot",
                    "conversation_id": n % CONTACTS + 1,
                    "contact_id": n % CONTACTS + 1,
                    "channel": CHANNELS[n % len(CHANNELS)],
                    "channel_message_id": f"b{n}" if inbound else None,
                    "created_at": started + timedelta(seconds=n),
                    "updated_at": started + timedelta(seconds=n),
                    "urgent": False,
                    "attempts": 0,
                }
            )
        with engine.begin() as db:
            db.execute(insert(Message), rows)
    due = datetime.now(UTC) - timedelta(minutes=5)
    with engine.begin() as db:
        db.execute(
            insert(Handoff),
            [
                {"conversation_id": n, "status": "waiting", "urgent": n % 5 == 0}
                for n in range(1, 101)
            ],
        )
        db.execute(
            insert(Appointment),
            [
                {
                    "id": n,
                    "contact_id": n,
                    "conversation_id": n,
                    "kind": "appointment",
                    "starts_at": due + timedelta(days=1),
                    "timezone": "Europe/Amsterdam",
                    "channel": "sms",
                    "status": "scheduled",
                }
                for n in range(1, CONTACTS + 1)
            ],
        )
        db.execute(
            insert(Reminder),
            [
                {"appointment_id": n, "due_at": due + timedelta(days=n % 3), "status": "pending"}
                for n in range(1, CONTACTS + 1)
            ],
        )
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))  # what autovacuum does on a live database


def run(messages: int, scrapes: int, database_url: str | None) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            var_dir=Path(tmp) / "var",
            database_url=database_url or "",
            secret_key=secrets.token_urlsafe(32),
            data_keys=[Fernet.generate_key().decode()],
        )
        settings.var_dir.mkdir(parents=True)
        migrate(settings.database_url)
        services = build_services(settings)
        try:
            fill_started = time.perf_counter()
            _fill(services.engine, messages)
            fill_s = time.perf_counter() - fill_started
            # Every scrape counting the messages (the worst scrape, once a minute), and the
            # usual scrape with the counts kept (only the live, indexed queries).
            counting = _timed_scrapes(DatabaseCollector(services.sessions, counts_ttl=0), scrapes)
            usual = _timed_scrapes(DatabaseCollector(services.sessions), scrapes)
        finally:
            services.close()
    return {
        "backend": services.engine.dialect.name,
        "messages": messages,
        "scrapes": scrapes,
        "counting_ms_median": _ms(statistics.median(counting)),
        "counting_ms_max": _ms(max(counting)),
        "usual_ms_median": _ms(statistics.median(usual)),
        "usual_ms_max": _ms(max(usual)),
        "fill_s": round(fill_s, 1),
    }


def _timed_scrapes(collector: DatabaseCollector, scrapes: int) -> list[float]:
    registry = CollectorRegistry()
    registry.register(collector)
    body = generate_latest(registry)  # warms the connection pool (and keeps the counts)
    assert b"baken_database_up 1.0" in body, "the metrics queries failed"
    times = []
    for _ in range(scrapes):
        started = time.perf_counter()
        generate_latest(registry)
        times.append(time.perf_counter() - started)
    return times


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 1)

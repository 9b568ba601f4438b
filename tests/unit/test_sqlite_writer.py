"""SQLite's writers within one process queue on a lock (bot/storage/db.py) instead of meeting
SQLite's busy handler, which sleeps in steps; reads never wait, and a failed or abandoned write
never keeps the lock."""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, select, text

from bot.messages import InboundMessage
from bot.services import Services
from bot.storage.db import make_engine
from bot.storage.models import Contact, Message
from bot.storage.repo import store_inbound
from tests.statements import recorded


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    engine = make_engine(f"sqlite:///{tmp_path / 'w.db'}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)"))
    return engine


def writer_lock(engine: Engine) -> threading.Lock:
    raw = engine.raw_connection()
    try:
        lock: threading.Lock = raw.driver_connection.lock  # type: ignore[union-attr]
        return lock
    finally:
        raw.close()


def test_a_second_writer_waits_for_the_first_to_commit_and_reads_do_not(engine: Engine) -> None:
    lock = writer_lock(engine)
    second_done = threading.Event()

    def second_writer() -> None:
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO t (v) VALUES ('second')"))
        second_done.set()

    with engine.begin() as first:
        first.execute(text("INSERT INTO t (v) VALUES ('first')"))
        assert lock.locked()
        thread = threading.Thread(target=second_writer)
        thread.start()
        assert not second_done.wait(0.3)  # queued behind the open transaction
        with engine.connect() as reader:  # a read goes on (WAL)
            assert reader.execute(text("SELECT count(*) FROM t")).scalar() == 0
    thread.join(timeout=10)
    assert second_done.is_set()
    assert not lock.locked()
    with engine.connect() as conn:
        assert conn.execute(text("SELECT v FROM t ORDER BY id")).scalars().all() == [
            "first",
            "second",
        ]


def test_a_failed_or_rolled_back_write_releases_the_lock(engine: Engine) -> None:
    lock = writer_lock(engine)
    with pytest.raises(Exception, match="NOT NULL"), engine.begin() as conn:
        conn.execute(text("INSERT INTO t (v) VALUES (NULL)"))
    assert not lock.locked()
    with engine.connect() as conn:
        conn.execute(text("UPDATE t SET v = 'x'"))
        assert lock.locked()
        conn.rollback()
    assert not lock.locked()
    with engine.connect() as conn:  # closed without commit or rollback: released too
        conn.execute(text("INSERT INTO t (v) VALUES ('abandoned')"))
    assert not lock.locked()


def test_storing_an_inbound_message_reads_everything_before_its_first_write(
    services: Services,
) -> None:
    """The write lock is held from a transaction's first write to its commit: a webhook that
    read its conversation after writing held it across that query (an autoflush), and the
    other webhooks and the worker waited behind it."""
    first = InboundMessage("whatsapp:+31612345678", "whatsapp", "SMr1", datetime.now(UTC), "hi")
    with services.sessions.begin() as db:
        store_inbound(db, services.keys, first)
    second = replace(first, channel_message_id="SMr2", text="and again", lang="ar")
    with recorded(services.sessions.kw["bind"]) as sent, services.sessions.begin() as db:
        store_inbound(db, services.keys, second)
    # PostgreSQL's wake-up NOTIFY (bot/wakeup.py) is a SELECT sent after the writes: not a read.
    kinds = [
        statement.lstrip().split()[0].upper()
        for statement, _ in sent
        if "pg_notify" not in statement
    ]
    first_write = next(i for i, kind in enumerate(kinds) if kind in ("INSERT", "UPDATE"))
    assert "SELECT" in kinds[:first_write]
    assert "SELECT" not in kinds[first_write:], kinds
    with services.sessions() as db:
        stored = db.scalars(select(Message).order_by(Message.id)).all()
        assert [m.text for m in stored] == ["hi", "and again"]
        assert stored[0].conversation_id == stored[1].conversation_id
        assert db.scalars(select(Contact.lang)).one() == "ar"

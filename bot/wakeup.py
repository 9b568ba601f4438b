"""Waking the worker when work is queued, instead of at its next poll.

A transaction that queues a message (an inbound message to process, an outbound one to send) sets
that queue's event in its own process once it commits. On PostgreSQL it also sends a NOTIFY,
which PostgreSQL delivers at commit and never for a rolled-back transaction; a listener thread in
every worker process turns it into the same event. So a worker apart from the gateway (deploy/,
docs/scaling.md) starts on a message at once instead of at its next poll.

The poll stays (``BAKEN_WORKER_POLL_SECONDS``): it finds the retries whose time has come, and
anything a notification missed while the listener was reconnecting. SQLite has no signal between
processes, so there a worker apart waits for its poll.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from typing import Any

import psycopg
from sqlalchemy import Engine, event, func, select
from sqlalchemy.orm import Session, sessionmaker

from bot.storage.db import is_postgresql
from bot.storage.models import Direction, InStatus, Message, OutStatus

log = logging.getLogger(__name__)

INBOUND = "baken_inbound"
OUTBOX = "baken_outbox"
_QUEUED = "baken_queued"  # Session.info key: the queues this transaction added to


@dataclass
class Wakeups:
    """One event per queue; the worker's loops wait on them between polls."""

    inbound: threading.Event = field(default_factory=threading.Event)
    outbox: threading.Event = field(default_factory=threading.Event)

    def set(self, queue: str) -> None:
        (self.inbound if queue == INBOUND else self.outbox).set()

    def set_all(self) -> None:
        self.inbound.set()
        self.outbox.set()


def queue_of(obj: object) -> str | None:
    """The queue a new row joins, if any."""
    if not isinstance(obj, Message):
        return None
    if obj.direction == Direction.IN and obj.status == InStatus.PENDING:
        return INBOUND
    if obj.direction == Direction.OUT and obj.status == OutStatus.QUEUED:
        return OUTBOX
    return None


def watch(sessions: sessionmaker[Session], wakeups: Wakeups) -> None:
    """Wake ``wakeups`` (and, on PostgreSQL, every listening process) after each commit of
    ``sessions`` that queued a message."""

    @event.listens_for(sessions, "after_flush")
    def _queued(session: Session, _context: Any) -> None:
        queues = {queue for obj in session.new if (queue := queue_of(obj))}
        told: set[str] = session.info.setdefault(_QUEUED, set())
        if queues - told and is_postgresql(session):
            connection = session.connection()
            for queue in sorted(queues - told):
                connection.execute(select(func.pg_notify(queue, "")))
        told |= queues

    @event.listens_for(sessions, "after_commit")
    def _committed(session: Session) -> None:
        for queue in session.info.pop(_QUEUED, ()):
            wakeups.set(queue)

    @event.listens_for(sessions, "after_rollback")
    def _rolled_back(session: Session) -> None:
        session.info.pop(_QUEUED, None)


class Listener:
    """LISTENs on PostgreSQL for work other processes queued and sets the events; reconnects
    after the database went away (and then wakes both queues: something may have been missed)."""

    def __init__(self, engine: Engine, wakeups: Wakeups, stop: threading.Event) -> None:
        self.engine = engine
        self.wakeups = wakeups
        self.stop = stop
        self.listening = threading.Event()  # set while subscribed (tests wait for it)

    def _connect(self) -> psycopg.Connection[Any]:
        args, kwargs = self.engine.dialect.create_connect_args(self.engine.url)
        return psycopg.connect(*args, **{**kwargs, "autocommit": True})

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                with self._connect() as connection:
                    for queue in (INBOUND, OUTBOX):
                        connection.execute(f"LISTEN {queue}")
                    self.listening.set()
                    self.wakeups.set_all()
                    while not self.stop.is_set():
                        for notice in connection.notifies(timeout=1.0):
                            self.wakeups.set(notice.channel)
            except psycopg.Error as exc:
                log.warning("listener lost the database", extra={"error": type(exc).__name__})
            finally:
                self.listening.clear()
            self.stop.wait(1.0)

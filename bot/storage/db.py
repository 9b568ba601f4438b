"""Engine and sessions. SQLite runs in WAL mode with a busy timeout so the web routes and the
worker can write side by side, and the writers of one process take turns on a lock; PostgreSQL
is used as is."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


_WRITE_LOCKS: dict[str, threading.Lock] = {}
_WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE")


class _OneWriterCursor(sqlite3.Cursor):
    """Takes its connection's writer lock before the first write of a transaction."""

    connection: _OneWriterConnection

    def execute(self, sql: str, parameters: Any = (), /) -> _OneWriterCursor:
        with self.connection.writing(sql):
            super().execute(sql, parameters)
        return self

    def executemany(self, sql: str, seq_of_parameters: Any, /) -> _OneWriterCursor:
        with self.connection.writing(sql):
            super().executemany(sql, seq_of_parameters)
        return self


class _OneWriterConnection(sqlite3.Connection):
    """One writing transaction at a time per SQLite file within this process.

    SQLite allows one writer; a second one is told "busy" and its busy handler sleeps in steps
    of 1, 2, 5, 10 … ms before trying again, which made webhook acknowledgements wait up to a
    few hundred ms behind the worker's writes (docs/performance.md). Here the writers of one
    process queue on a lock instead and go on the moment the previous transaction ends; writers
    in other processes still meet the busy handler. The lock is held from a transaction's first
    INSERT, UPDATE or DELETE to its commit or rollback (Python's sqlite3 begins the transaction
    at that statement), and waits no longer than the busy timeout would.
    """

    def __init__(self, database: str, *args: Any, **kwargs: Any) -> None:
        super().__init__(database, *args, **kwargs)
        self.timeout = float(kwargs.get("timeout", 5.0))
        self.lock = _WRITE_LOCKS.setdefault(str(database), threading.Lock())
        self.holding = False

    def cursor(self, factory: Any = _OneWriterCursor) -> Any:
        return super().cursor(factory)

    @contextmanager
    def writing(self, sql: str) -> Iterator[None]:
        """Around one statement: a write takes the lock unless its transaction holds it."""
        if not self.holding and sql.lstrip()[:7].upper().startswith(_WRITES):
            if not self.lock.acquire(timeout=self.timeout):
                raise sqlite3.OperationalError("database is locked")
            self.holding = True
        try:
            yield
        except BaseException:
            if not self.in_transaction:  # the write failed before its transaction began
                self._release()
            raise

    def _release(self) -> None:
        if self.holding:
            self.holding = False
            self.lock.release()

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            self._release()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self._release()

    def close(self) -> None:
        try:
            super().close()
        finally:
            self._release()


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            connect_args={
                "check_same_thread": False,
                "timeout": 30,
                **({} if path in ("", ":memory:") else {"factory": _OneWriterConnection}),
            },
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            # In WAL mode NORMAL survives a crashed process (only power loss can drop the last
            # commits) and saves an fsync per commit, which the outbox makes many of.
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        return engine
    return create_engine(url, pool_pre_ping=True)


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def is_postgresql(session: Session) -> bool:
    """Row locks (``FOR UPDATE SKIP LOCKED``) and ``NOTIFY``: PostgreSQL has them, SQLite not."""
    return session.get_bind().dialect.name == "postgresql"


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def migrate(url: str, revision: str = "head") -> None:
    """Bring the schema to ``revision`` (alembic upgrade)."""
    command.upgrade(alembic_config(url), revision)


def ping(engine: Engine) -> bool:
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception:
        return False
    return True

"""Rasa's SQL tracker store with every event's data encrypted at rest.

Events hold what the person wrote and the slots (intake answers), so the ``data`` column is
stored as a Fernet token (MultiFernet over ``BAKEN_RASA_TRACKER_KEYS``, comma-separated, newest
first; ``baken up`` passes the gateway's data keys). Sender ids are already pseudonyms. Rows
written before encryption was switched on are still read. Loaded by Rasa through
``endpoints.yml: tracker_store: type: actions.tracker_store.EncryptedSQLTrackerStore``; the
action server imports this module too and simply finds no action in it.
"""

from __future__ import annotations

import functools
import os
from typing import Any

import sqlalchemy as sa
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from rasa.core.tracker_store import SQLTrackerStore, _create_sequence
from sqlalchemy.orm import declarative_base
from sqlalchemy.types import TypeDecorator

KEYS_VARIABLE = "BAKEN_RASA_TRACKER_KEYS"


def _cipher() -> MultiFernet:
    return _cipher_for(os.environ.get(KEYS_VARIABLE, ""))


@functools.lru_cache(maxsize=4)
def _cipher_for(setting: str) -> MultiFernet:
    """Built once per key setting, not once per event: a turn loads and saves every event."""
    keys = [k.strip() for k in setting.split(",") if k.strip()]
    if not keys:
        raise RuntimeError(f"{KEYS_VARIABLE} is not set: refusing to store trackers unencrypted")
    return MultiFernet([Fernet(k.encode()) for k in keys])


class EncryptedText(TypeDecorator):
    impl = sa.Text
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Any) -> str | None:
        return _cipher().encrypt(value.encode()).decode() if value is not None else None

    def process_result_value(self, value: str | None, dialect: Any) -> str | None:
        if value is None or value.startswith("{"):  # a row from before encryption
            return value
        try:
            return _cipher().decrypt(value.encode()).decode()
        except InvalidToken as exc:
            raise RuntimeError("a tracker event cannot be decrypted with the given keys") from exc


class EncryptedSQLTrackerStore(SQLTrackerStore):
    """``SQLTrackerStore`` whose ``events.data`` column is encrypted."""

    Base = declarative_base()

    class SQLEvent(Base):  # type: ignore[valid-type,misc]
        __tablename__ = "events"

        id = sa.Column(sa.Integer, _create_sequence(__tablename__), primary_key=True)
        sender_id = sa.Column(sa.String(255), nullable=False, index=True)
        type_name = sa.Column(sa.String(255), nullable=False)
        timestamp = sa.Column(sa.Float)
        intent_name = sa.Column(sa.String(255))
        action_name = sa.Column(sa.String(255))
        data = sa.Column(EncryptedText)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        _cipher()  # fail at start, not at the first message
        super().__init__(*args, **kwargs)
        if self.engine.dialect.name == "sqlite":
            # Rasa 3.6 (SQLAlchemy 1.4) opens a new SQLite connection for every session: the
            # file opened and its schema read again several times a turn. One kept connection
            # per thread instead (Rasa's turns all run on its event loop's thread).
            self.engine.dispose()
            self.engine = sa.create_engine(self.engine.url, poolclass=sa.pool.SingletonThreadPool)
            sa.event.listen(self.engine, "connect", _sqlite_wal)
            self.sessionmaker = sa.orm.session.sessionmaker(bind=self.engine)


def _sqlite_wal(dbapi_connection: Any, _record: Any) -> None:
    """As the gateway's own SQLite file: write-ahead log, and no fsync at every commit.

    In SQLite's default journal Rasa's thread sat in fsync for every turn it saved, with the
    whole server waiting: its SQLAlchemy calls block the event loop. Erasure and key rotation
    write to this file from the gateway; WAL lets them and Rasa work at once."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()

"""Shared fixtures: a fresh settings object and database per test.

The database is SQLite in a temporary folder, or, when ``BAKEN_DATABASE_URL`` names a PostgreSQL
server (``make test-pg``), a throwaway database created on that server for the test and dropped
after it."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, make_url, text
from sqlalchemy.exc import OperationalError

from bot.config import Settings
from bot.services import Services, build_services
from bot.storage.db import migrate

PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
# Read once at start: fixtures below clear BAKEN_* from the environment of each test.
OUTER_DATABASE_URL = os.environ.get("BAKEN_DATABASE_URL", "")


def on_postgresql() -> bool:
    """True when the suite runs on PostgreSQL (``make test-pg``)."""
    return OUTER_DATABASE_URL.startswith("postgresql")


@contextmanager
def throwaway_database(server_url: str) -> Iterator[str]:
    """A new, empty database on the PostgreSQL server of ``server_url``, dropped afterwards
    (with FORCE, so connections a test left open do not keep it)."""
    server = make_url(server_url)
    admin = create_engine(server.set(database="postgres"), isolation_level="AUTOCOMMIT")
    name = f"baken_test_{uuid.uuid4().hex[:10]}"
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except OperationalError:
        admin.dispose()
        pytest.skip(f"PostgreSQL is not reachable at {server.host}:{server.port}")
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def database_url(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    """SQLite in the test's folder, or a throwaway PostgreSQL database under ``make test-pg``
    (except for tests marked ``embedded``: they are about the SQLite default itself)."""
    if not on_postgresql() or request.node.get_closest_marker("embedded"):
        yield f"sqlite:///{tmp_path / 'var' / 'baken.db'}"
        return
    with throwaway_database(OUTER_DATABASE_URL) as url:
        yield url


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, database_url: str) -> Settings:
    for name in ("BAKEN_DATABASE_URL", "BAKEN_SECRET_KEY", "BAKEN_DATA_KEYS", "BAKEN_RASA_URL"):
        monkeypatch.delenv(name, raising=False)
    # A closed port: Rasa is "down" unless a test starts the real one.
    settings = Settings(var_dir=tmp_path / "var", rasa_url="http://127.0.0.1:9", port=0)
    settings.ensure_keys()  # var/keys.json, as in the embedded default, on either database
    settings.database_url = database_url
    return settings


@pytest.fixture
def services(settings: Settings) -> Iterator[Services]:
    migrate(settings.database_url)
    svc = build_services(settings)
    yield svc
    svc.close()


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh, migrated PostgreSQL database (the outer server, else this machine's), dropped
    afterwards."""
    with throwaway_database(OUTER_DATABASE_URL if on_postgresql() else PG_ADMIN) as url:
        migrate(url)
        yield url

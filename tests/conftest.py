"""Shared fixtures: a fresh settings object and database per test (SQLite in a temp folder)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.config import Settings
from bot.services import Services, build_services
from bot.storage.db import migrate


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    for name in ("BAKEN_DATABASE_URL", "BAKEN_SECRET_KEY", "BAKEN_DATA_KEYS", "BAKEN_RASA_URL"):
        monkeypatch.delenv(name, raising=False)
    # A closed port: Rasa is "down" unless a test starts the real one.
    settings = Settings(var_dir=tmp_path / "var", rasa_url="http://127.0.0.1:9", port=0)
    settings.ensure_keys()
    return settings


@pytest.fixture
def services(settings: Settings) -> Iterator[Services]:
    migrate(settings.database_url)
    svc = build_services(settings)
    yield svc
    svc.close()


PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh, migrated PostgreSQL database on this machine's server, dropped afterwards."""
    import uuid

    from sqlalchemy import create_engine, text
    from sqlalchemy.exc import OperationalError

    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    name = f"baken_test_{uuid.uuid4().hex[:10]}"
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except OperationalError:
        admin.dispose()
        pytest.skip(
            "PostgreSQL is not reachable on 127.0.0.1:5432 (the production-path tests need it)"
        )
    url = PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"
    migrate(url)
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()

"""Migrations, on SQLite and on PostgreSQL: upgrade to head, the models match the migrated schema
(alembic's autogenerate comparison finds no difference), every step downgrades to base leaving
nothing behind, and the schema upgrades again from there."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, text

from bot.storage.db import alembic_config, migrate
from tests.conftest import OUTER_DATABASE_URL, PG_ADMIN, on_postgresql, throwaway_database

TABLES = {"contacts", "conversations", "messages", "handoffs", "intakes", "reminders"}


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'migrations.db'}"
        return
    with throwaway_database(OUTER_DATABASE_URL if on_postgresql() else PG_ADMIN) as url:
        yield url


def schema(url: str) -> tuple[set[str], set[str]]:
    """The tables and, on PostgreSQL, the user-defined types (enums) the database holds."""
    engine = create_engine(url)
    try:
        tables = set(inspect(engine).get_table_names()) - {"alembic_version"}
        types: set[str] = set()
        if engine.dialect.name == "postgresql":
            with engine.connect() as conn:
                found = conn.execute(
                    text(
                        "SELECT typname FROM pg_type JOIN pg_namespace n ON n.oid = typnamespace"
                        " WHERE nspname = 'public' AND typtype = 'e'"
                    )
                )
                types = set(found.scalars())
        return tables, types
    finally:
        engine.dispose()


def test_upgrade_check_downgrade_and_upgrade_again(empty_database: str) -> None:
    url = empty_database
    migrate(url)
    assert schema(url)[0] >= TABLES
    cfg = alembic_config(url)
    command.check(cfg)  # raises if the models have changes no migration covers
    revisions = [s.revision for s in ScriptDirectory.from_config(cfg).walk_revisions()]
    assert len(revisions) >= 5
    for revision in revisions:  # newest first, one step at a time
        command.downgrade(cfg, "-1")
        assert current_revision(url) != revision
    assert schema(url) == (set(), set())
    migrate(url)
    command.check(cfg)
    assert schema(url)[0] >= TABLES


def current_revision(url: str) -> str | None:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    finally:
        engine.dispose()

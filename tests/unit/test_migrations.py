"""Migrations: upgrade and downgrade work, and the models match the migrations (no drift)."""

from __future__ import annotations

from alembic import command
from sqlalchemy import create_engine, inspect

from bot.config import Settings
from bot.storage.db import alembic_config, migrate


def test_upgrade_check_and_downgrade(settings: Settings) -> None:
    migrate(settings.database_url)
    tables = set(inspect(create_engine(settings.database_url)).get_table_names())
    assert {"contacts", "conversations", "messages", "handoffs", "intakes"} <= tables
    cfg = alembic_config(settings.database_url)
    command.check(cfg)  # raises if the models have changes no migration covers
    command.downgrade(cfg, "base")
    assert set(inspect(create_engine(settings.database_url)).get_table_names()) <= {
        "alembic_version"
    }

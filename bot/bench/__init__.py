"""Benchmarks (``baken bench …``): measured against local fakes of the providers
(``bot.fakes``, the same fakes the tests use), never the internet."""

from __future__ import annotations

import os
import statistics
from pathlib import Path

from bot.config import Settings
from bot.storage.db import migrate


def percentile(values: list[float], q: int) -> float:
    """The q-th percentile (1..99) of the values, interpolated; 0 for no values."""
    if len(values) < 2:
        return values[0] if values else 0.0
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def cpu_seconds(pid: int, children: bool = False) -> float:
    """User and system CPU time of a process so far (Linux /proc); with ``children``, also that
    of its children that have exited."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()  # after the name
    ticks = sum(int(f) for f in fields[11 : 15 if children else 13])
    return ticks / os.sysconf("SC_CLK_TCK")


def prepare_database(env: dict[str, str], own_sqlite: bool) -> Settings:
    """The settings a benchmark's worker processes will read from ``env`` (``BAKEN_VAR_DIR``,
    ``BAKEN_DATABASE_URL``), with the database migrated and its keys made. The benchmark's own
    SQLite file keeps its keys in its var/, as ``baken up`` does, so the caller's
    ``BAKEN_SECRET_KEY`` and ``BAKEN_DATA_KEYS`` leave ``env``; any other database needs them
    there."""
    if own_sqlite:
        env.pop("BAKEN_SECRET_KEY", None)
        env.pop("BAKEN_DATA_KEYS", None)
    settings = Settings(
        var_dir=Path(env["BAKEN_VAR_DIR"]),
        database_url=env["BAKEN_DATABASE_URL"],
        secret_key=env.get("BAKEN_SECRET_KEY", ""),
        data_keys=[k for k in env.get("BAKEN_DATA_KEYS", "").split(",") if k],
    )
    settings.ensure_keys()
    migrate(settings.database_url)
    return settings

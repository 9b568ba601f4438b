"""Benchmarks (``baken bench …``): measured against local fakes of the providers, never the
internet. They use the fake servers in ``tests/fakes`` so tests and benchmarks share one fake."""

from __future__ import annotations

import sys

from bot.config import PROJECT_DIR


def import_fakes() -> None:
    """Make ``tests.fakes`` importable (the bench runs from a checkout, like the tests)."""
    if str(PROJECT_DIR) not in sys.path:
        sys.path.insert(0, str(PROJECT_DIR))

"""Unit tests see no BAKEN_* settings from the environment (the integration stack sets some)."""

from __future__ import annotations

import os

import pytest


@pytest.fixture(autouse=True)
def _clean_baken_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [n for n in os.environ if n.startswith("BAKEN_")]:
        monkeypatch.delenv(name)

"""Helpers for the action-server unit tests.

These tests run in the Rasa environment (Python 3.10, rasa_sdk), not in the gateway's:

    /tmp/rasalock/venv/bin/python -m pytest tests/actions -o addopts=""

(tests/actions/pytest.ini keeps the gateway's tests/conftest.py out). No server is needed: we
build a rasa_sdk ``Tracker`` and a ``CollectingDispatcher`` and call the actions directly;
the helpers for that are in ``action_testing.py``.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from rasa_sdk.executor import CollectingDispatcher  # noqa: E402


@pytest.fixture(scope="session")
def domain() -> dict[str, Any]:
    """The real domain, as the action server receives it."""
    with open(ROOT / "dialogues" / "domain.yml", encoding="utf-8") as handle:
        return yaml.safe_load(handle)


@pytest.fixture
def dispatcher() -> CollectingDispatcher:
    return CollectingDispatcher()

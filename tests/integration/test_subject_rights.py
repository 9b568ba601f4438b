"""Subject access and erasure: ``baken export URN`` returns what a person said; ``baken erase URN``
removes it from the gateway's tables and Rasa's tracker store and leaves only a tombstone."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.storage.models import Tombstone

from .conftest import Stack

pytestmark = pytest.mark.stack
WORDS = "Zeynep asks about going back to Izmir"


def baken(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def files_holding(directory: Path, needle: bytes) -> list[str]:
    return [
        str(path)
        for path in directory.rglob("*")
        if path.is_file() and path.suffix != ".gz" and needle in path.read_bytes()
    ]


def test_export_then_erase_leaves_nothing_but_a_tombstone(stack: Stack, session_id: str) -> None:
    assert stack.say(session_id, WORDS, lang="en")["replies"]
    stack.say(session_id, "how can I go back home")
    exported = baken("export", f"web:{session_id}")
    assert exported.returncode == 0, exported.stderr
    data = json.loads(exported.stdout)
    assert data["contact"]["urn"] == f"web:{session_id}"
    said = [m["text"] for m in data["messages"] if m["from"] == "person"]
    assert said == ["consent:yes", WORDS, "how can I go back home"]  # "I agree", then the chat
    assert data["contact"]["privacy_notice_accepted"]["channel"] == "web"
    assert any(m["from"] == "bot" for m in data["messages"])
    # No database file (Rasa's tracker store included), WAL or log holds the words in plain text.
    assert stack.settings.rasa_tracker_db.exists()
    assert files_holding(stack.settings.var_dir, b"Zeynep") == []
    assert files_holding(stack.settings.var_dir, b"Izmir") == []
    erased = baken("erase", f"web:{session_id}", "--yes")
    assert erased.returncode == 0, erased.stderr
    again = baken("export", f"web:{session_id}")
    assert again.returncode != 0
    assert "no person" in again.stderr
    assert files_holding(stack.settings.var_dir, b"Zeynep") == []
    with stack.sessions()() as db:
        tombstone = db.scalars(select(Tombstone).order_by(Tombstone.id.desc())).first()
    assert tombstone is not None and tombstone.messages >= 4 and tombstone.scheme == "web"

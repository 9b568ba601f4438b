"""The encrypting tracker store: what the person wrote never reaches the database file in plain
text, and Rasa reads it back unchanged."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from actions.tracker_store import KEYS_VARIABLE, EncryptedSQLTrackerStore

WORDS = "my name is Hawa and I live in Ter Apel"


@pytest.fixture
def keys(monkeypatch: pytest.MonkeyPatch) -> str:
    key = Fernet.generate_key().decode()
    monkeypatch.setenv(KEYS_VARIABLE, key)
    return key


@pytest.mark.filterwarnings("ignore:Slot auto-fill:UserWarning")  # Rasa's own, about 2.x domains
def test_event_data_is_encrypted_and_read_back(keys: str, tmp_path: Path) -> None:
    db = tmp_path / "tracker.db"
    domain = Domain.from_yaml(
        'version: "3.1"\n'
        "slots:\n  intake_residence:\n    type: text\n    mappings:\n    - type: custom\n"
    )
    store = EncryptedSQLTrackerStore(domain=domain, dialect="sqlite", db=str(db))
    tracker = DialogueStateTracker.from_events(
        "p0123", [UserUttered(WORDS), SlotSet("intake_residence", "Ter Apel")], domain.slots
    )
    asyncio.run(store.save(tracker))
    content = b"".join(path.read_bytes() for path in tmp_path.glob("tracker.db*"))  # and its WAL
    assert b"Hawa" not in content and b"Ter Apel" not in content
    again = asyncio.run(store.retrieve("p0123"))
    assert again is not None
    assert again.latest_message is not None and again.latest_message.text == WORDS
    assert again.get_slot("intake_residence") == "Ter Apel"


def test_sqlite_file_is_written_ahead(keys: str, tmp_path: Path) -> None:
    store = EncryptedSQLTrackerStore(dialect="sqlite", db=str(tmp_path / "tracker.db"))
    asyncio.run(store.save(DialogueStateTracker.from_events("p0123", [UserUttered("hello")])))
    with store.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL
    assert (tmp_path / "tracker.db-wal").exists()


def test_refuses_to_start_without_keys(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv(KEYS_VARIABLE, raising=False)
    with pytest.raises(RuntimeError, match=KEYS_VARIABLE):
        EncryptedSQLTrackerStore(dialect="sqlite", db=str(tmp_path / "t.db"))

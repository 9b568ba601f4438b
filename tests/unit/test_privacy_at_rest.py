"""Personal fields are encrypted in the database; lookups go through keyed hashes."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import text

from bot.messages import InboundMessage
from bot.privacy.crypto import DataCipher
from bot.services import Services
from bot.storage.repo import find_contact, store_inbound

SECRET_TEXT = "my name is Amina Yusuf and my number is +31612345678"


def test_message_text_and_urn_are_not_stored_in_plain_text(services: Services) -> None:
    inbound = InboundMessage(
        urn="whatsapp:+31612345678",
        channel="whatsapp",
        channel_message_id="SM1",
        received_at=datetime.now(UTC),
        text=SECRET_TEXT,
    )
    with services.sessions.begin() as db:
        store_inbound(db, services.keys, inbound)
    with services.engine.connect() as conn:
        raw_text = conn.execute(text("SELECT text FROM messages")).scalar_one()
        raw_urn = conn.execute(text("SELECT urn, urn_hash, rasa_sender_id FROM contacts")).one()
    assert "Amina" not in raw_text
    assert "31612345678" not in "".join(raw_urn)
    services.engine.dispose()
    if services.engine.dialect.name == "sqlite":  # the database file, its WAL and SHM too
        db_file = Path(services.settings.database_url.split("///", 1)[1])
        files = list(db_file.parent.glob(db_file.name + "*"))
        assert files
        for path in files:
            content = path.read_bytes()
            assert b"Amina" not in content
            assert b"31612345678" not in content
    with services.sessions() as db:
        contact = find_contact(db, services.keys, "whatsapp:+31612345678")
        assert contact is not None and contact.urn == "tel:+31612345678"
        assert contact.rasa_sender_id.startswith("p")
        assert "31612345678" not in contact.rasa_sender_id


def test_rotation_keeps_old_tokens_readable() -> None:
    from cryptography.fernet import Fernet

    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    token = DataCipher([old]).encrypt("hello")
    rotated_cipher = DataCipher([new, old])
    assert rotated_cipher.decrypt(token) == "hello"
    assert DataCipher([new]).decrypt(rotated_cipher.rotate(token)) == "hello"

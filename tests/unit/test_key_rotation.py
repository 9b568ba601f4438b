"""A key rotation keeps everything readable: afterwards only the new key is needed."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import create_engine, select, text

from bot.messages import InboundMessage
from bot.privacy import crypto
from bot.privacy.crypto import DataCipher
from bot.privacy.rotation import encrypted_columns, rotate
from bot.services import Services
from bot.storage.models import Contact, Intake, Message
from bot.storage.repo import open_conversation, store_inbound


def test_rotation_re_encrypts_every_field_and_tracker_event(
    services: Services, tmp_path: Path
) -> None:
    old = services.settings.data_keys[0]
    with services.sessions.begin() as db:
        message = store_inbound(
            db,
            services.keys,
            InboundMessage(
                urn="whatsapp:+31600000042",
                channel="whatsapp",
                channel_message_id="SMrot",
                received_at=datetime.now(UTC),
                text="ik woon in Zwolle",
            ),
        )
        contact = db.get_one(Contact, message.contact_id)
        db.add(
            Intake(
                conversation_id=open_conversation(db, contact).id, answers={"residence": "Zwolle"}
            )
        )
    tracker = tmp_path / "tracker.db"
    engine = create_engine(f"sqlite:///{tracker}")
    with engine.begin() as conn:
        conn.execute(
            text("CREATE TABLE events (id INTEGER PRIMARY KEY, sender_id TEXT, data TEXT)")
        )
        conn.execute(
            text("INSERT INTO events (sender_id, data) VALUES ('p1', :d), ('p2', '{}')"),
            {"d": DataCipher([old]).encrypt('{"text": "Zwolle"}')},
        )
    new = Fernet.generate_key().decode()
    done = rotate(services.engine, f"sqlite:///{tracker}", DataCipher([new, old]))
    assert done.fields == 3  # the message text, the contact's URN, the intake answers
    assert done.tracker_events == 1
    crypto.configure([new])  # the old key is gone
    with services.sessions() as db:
        assert db.scalars(select(Message.text)).one() == "ik woon in Zwolle"
        assert db.scalars(select(Contact.urn)).one() == "tel:+31600000042"
        assert db.scalars(select(Intake.answers)).one() == {"residence": "Zwolle"}
    with engine.connect() as conn:
        token = conn.execute(text("SELECT data FROM events WHERE sender_id = 'p1'")).scalar_one()
    assert DataCipher([new]).decrypt(token) == '{"text": "Zwolle"}'
    engine.dispose()


def test_every_personal_field_is_an_encrypted_column() -> None:
    columns = set(encrypted_columns())
    assert {
        ("messages", "text"),
        ("messages", "payload"),
        ("messages", "media"),
        ("contacts", "urn"),
        ("contacts", "name"),
        ("intakes", "answers"),
        ("inbox_notes", "text"),
    } <= columns


@pytest.mark.embedded
def test_baken_keys_rotate_new_key_in_the_embedded_default(services: Services) -> None:
    import json
    import os
    import subprocess
    import sys

    with services.sessions.begin() as db:
        store_inbound(
            db,
            services.keys,
            InboundMessage(
                urn="web:rot",
                channel="web",
                channel_message_id="rot1",
                received_at=datetime.now(UTC),
                text="hallo",
            ),
        )
    services.engine.dispose()
    env = {k: v for k, v in os.environ.items() if not k.startswith("BAKEN_")}
    env["BAKEN_VAR_DIR"] = str(services.settings.var_dir)
    done = subprocess.run(
        [sys.executable, "-m", "bot.cli", "keys", "rotate", "--new-key"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    stored = json.loads(services.settings.keys_file.read_text())
    assert len(stored["data_keys"]) == 2
    crypto.configure(stored["data_keys"][:1])  # the new key alone reads everything
    with services.sessions() as db:
        assert db.scalars(select(Message.text)).one() == "hallo"

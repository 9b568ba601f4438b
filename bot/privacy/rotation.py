"""Key rotation: re-encrypt every personal field with the newest data key.

Put a new key first in ``BAKEN_DATA_KEYS`` (or let ``baken keys rotate --new-key`` add one to
``var/keys.json`` in the embedded default), run the rotation, then drop the old key. Tokens are
re-encrypted as stored (raw text in, raw text out), so no value is ever decrypted into the
database session; Rasa's tracker events are rotated too.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine, Text, bindparam, cast, select, text, update

from bot.privacy.crypto import DataCipher
from bot.privacy.subject import tracker_engine
from bot.storage.models import Base, EncryptedJSON, EncryptedText

BATCH = 500


@dataclass
class Rotated:
    fields: int = 0
    tracker_events: int = 0


def encrypted_columns() -> list[tuple[str, str]]:
    """(table, column) of every encrypted field in the gateway's schema."""
    return [
        (table.name, column.name)
        for table in Base.metadata.sorted_tables
        for column in table.columns
        if isinstance(column.type, EncryptedText | EncryptedJSON)
    ]


def rotate_gateway(engine: Engine, cipher: DataCipher) -> int:
    done = 0
    for table_name, column_name in encrypted_columns():
        table = Base.metadata.tables[table_name]
        column = table.c[column_name]
        raw = cast(column, Text)  # the stored token, not decrypted
        last_id = 0
        while True:
            with engine.begin() as conn:
                rows = conn.execute(
                    select(table.c.id, raw)
                    .where(table.c.id > last_id, column.is_not(None))
                    .order_by(table.c.id)
                    .limit(BATCH)
                ).all()
                for row_id, token in rows:
                    conn.execute(
                        update(table)
                        .where(table.c.id == row_id)
                        .values({column_name: bindparam("token", type_=Text)}),
                        {"token": cipher.rotate(token)},
                    )
            if not rows:
                break
            done += len(rows)
            last_id = rows[-1][0]
    return done


def rotate_tracker(tracker_url: str, cipher: DataCipher) -> int:
    engine = tracker_engine(tracker_url)
    if engine is None:
        return 0
    try:
        done = 0
        with engine.begin() as conn:
            rows = conn.execute(text("SELECT id, data FROM events")).all()
            for row_id, data in rows:
                if data is None or data.startswith("{"):
                    continue  # written before the tracker store encrypted
                conn.execute(
                    text("UPDATE events SET data = :d WHERE id = :i"),
                    {"d": cipher.rotate(data), "i": row_id},
                )
                done += 1
        return done
    finally:
        engine.dispose()


def rotate(engine: Engine, tracker_url: str | None, cipher: DataCipher) -> Rotated:
    result = Rotated(fields=rotate_gateway(engine, cipher))
    if tracker_url:
        result.tracker_events = rotate_tracker(tracker_url, cipher)
    return result

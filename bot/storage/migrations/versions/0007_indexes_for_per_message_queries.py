"""Indexes for the queries run for every message, and for the foreign keys checked on erasure
and retention: without them each of these read every message (or handoff, or conversation),
so their cost grew with the database (docs/performance.md).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07 02:30:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXES = [
    ("ix_messages_contact", "messages", ["contact_id", "direction", "channel", "created_at"]),
    ("ix_messages_in_reply_to", "messages", ["in_reply_to_id"]),
    ("ix_handoffs_conversation", "handoffs", ["conversation_id", "status"]),
    ("ix_conversations_contact", "conversations", ["contact_id", "closed_at"]),
    ("ix_reminders_message", "reminders", ["message_id"]),
]


def upgrade() -> None:
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns)


def downgrade() -> None:
    for name, table, _ in reversed(INDEXES):
        op.drop_index(name, table_name=table)

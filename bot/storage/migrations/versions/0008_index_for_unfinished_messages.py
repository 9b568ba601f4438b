"""An index for the claims' check that nothing earlier in the conversation is unfinished: without
the status in an index that check read the conversation's whole history, for every queued message
a claim looked at, so a claim cost more the longer people had written (docs/performance.md).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 17:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_messages_unfinished", "messages", ["conversation_id", "direction", "status", "id"]
    )


def downgrade() -> None:
    op.drop_index("ix_messages_unfinished", table_name="messages")

"""Consent to the privacy notice, "delete my data" in the chat, retention purges, and deletions
at the provider after either.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29 07:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("contacts") as batch:
        batch.add_column(sa.Column("consent_version", sa.String(length=20), nullable=True))
        batch.add_column(sa.Column("consent_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("consent_channel", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("erase_requested_at", sa.DateTime(timezone=True), nullable=True))
        batch.create_index("ix_contacts_erase_requested_at", ["erase_requested_at"])
    op.create_table(
        "retention_purges",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("purged_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("service", sa.String(length=30), nullable=False),
        sa.Column("retention_days", sa.Integer(), nullable=False),
        sa.Column("conversations", sa.Integer(), nullable=False),
        sa.Column("messages", sa.Integer(), nullable=False),
        sa.Column("contacts", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "provider_deletions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("provider_id", sa.String(length=80), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )


def downgrade() -> None:
    op.drop_table("provider_deletions")
    op.drop_table("retention_purges")
    with op.batch_alter_table("contacts") as batch:
        batch.drop_index("ix_contacts_erase_requested_at")
        batch.drop_column("erase_requested_at")
        batch.drop_column("consent_channel")
        batch.drop_column("consent_at")
        batch.drop_column("consent_version")

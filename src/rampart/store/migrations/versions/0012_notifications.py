"""Investor notifications: which kinds each account receives, the durable outbox of
notices not yet accepted by Telegram, and an incident's expected time to fix.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-22
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = 128
CODE = 32


def auto_id() -> sa.types.TypeEngine[int]:
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "notify_prefs",
        sa.Column("account_id", sa.String(ID), nullable=False),
        sa.Column("kind", sa.String(CODE), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("account_id", "kind", name="pk_notify_prefs"),
    )
    op.create_table(
        "notify_outbox",
        sa.Column("id", auto_id(), autoincrement=True, nullable=False),
        sa.Column("key", sa.String(ID * 2), nullable=False),
        sa.Column("account_id", sa.String(ID), nullable=False),
        sa.Column("kind", sa.String(CODE), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("sent_at", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_notify_outbox"),
        sa.UniqueConstraint("key", name="uq_notify_outbox_key"),
    )
    op.create_index("ix_notify_outbox_sent_at", "notify_outbox", ["sent_at"])
    with op.batch_alter_table("incidents") as batch:
        batch.add_column(sa.Column("eta_at", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("incidents") as batch:
        batch.drop_column("eta_at")
    op.drop_index("ix_notify_outbox_sent_at", table_name="notify_outbox")
    op.drop_table("notify_outbox")
    op.drop_table("notify_prefs")

"""The bot's durable commands and replies: ``bot_inbox`` keeps each command the bot
received until its replies are recorded, ``bot_replies`` each reply until Telegram accepted
it, so a restart answers every command once (or says it took too long).

Revision ID: 0035_bot_inbox
Revises: 0034
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0035_bot_inbox"
down_revision: str | None = "0034"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CODE = 32


def auto_id() -> sa.types.TypeEngine[int]:
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "bot_inbox",
        sa.Column("update_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("received_at", sa.BigInteger(), nullable=False),
        sa.Column("handled_at", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("update_id", name="pk_bot_inbox"),
    )
    op.create_index("ix_bot_inbox_handled_at", "bot_inbox", ["handled_at"])
    op.create_table(
        "bot_replies",
        sa.Column("id", auto_id(), autoincrement=True, nullable=False),
        sa.Column("update_id", sa.BigInteger(), nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("markup", sa.Text(), nullable=True),
        sa.Column("lane", sa.String(CODE), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("sent_at", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_bot_replies"),
    )
    op.create_index("ix_bot_replies_sent_at", "bot_replies", ["sent_at"])


def downgrade() -> None:
    op.drop_index("ix_bot_replies_sent_at", table_name="bot_replies")
    op.drop_table("bot_replies")
    op.drop_index("ix_bot_inbox_handled_at", table_name="bot_inbox")
    op.drop_table("bot_inbox")

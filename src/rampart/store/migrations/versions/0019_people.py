"""People: investors' feedback (a 1-5 score and text) and support tickets with the
times their SLA clock reads.

Revision ID: 0019
Revises: 0018
Create Date: 2027-02-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = 128
CODE = 32


def auto_id() -> sa.types.TypeEngine[int]:
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "feedback",
        sa.Column("id", auto_id(), autoincrement=True, nullable=False),
        sa.Column("account_id", sa.String(ID), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("ts", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_feedback"),
    )
    op.create_index("ix_feedback_ts", "feedback", ["ts"])
    op.create_table(
        "support_tickets",
        sa.Column("id", auto_id(), autoincrement=True, nullable=False),
        sa.Column("account_id", sa.String(ID), nullable=False),
        sa.Column("priority", sa.String(CODE), nullable=False),
        sa.Column("status", sa.String(CODE), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("opened_at", sa.BigInteger(), nullable=False),
        sa.Column("answered_at", sa.BigInteger(), nullable=True),
        sa.Column("answered_by", sa.String(ID), nullable=True),
        sa.Column("answer", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_support_tickets"),
    )
    op.create_index(
        "ix_support_tickets_status_opened_at", "support_tickets", ["status", "opened_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_support_tickets_status_opened_at", table_name="support_tickets")
    op.drop_table("support_tickets")
    op.drop_index("ix_feedback_ts", table_name="feedback")
    op.drop_table("feedback")

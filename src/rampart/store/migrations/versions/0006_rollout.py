"""Rollout stages: the active stage, its transitions and gate evaluations.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-21
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = 128
NAME = 64
CODE = 32
AutoId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "rollout_state",
        sa.Column("key", sa.String(CODE), nullable=False),
        sa.Column("stage", sa.String(NAME), nullable=False),
        sa.Column("entered_at", sa.BigInteger(), nullable=False),
        sa.Column("pending_since", sa.BigInteger(), nullable=True),
        sa.Column("held", sa.Boolean(), nullable=False),
        sa.Column("hold_reason", sa.Text(), nullable=False),
        sa.Column("streaks", sa.JSON(), nullable=False),
        sa.Column("last_evaluated_at", sa.BigInteger(), nullable=True),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("key", name="pk_rollout_state"),
    )
    op.create_table(
        "rollout_transitions",
        sa.Column("id", AutoId, autoincrement=True, nullable=False),
        sa.Column("ts", sa.BigInteger(), nullable=False),
        sa.Column("from_stage", sa.String(NAME), nullable=False),
        sa.Column("to_stage", sa.String(NAME), nullable=False),
        sa.Column("kind", sa.String(CODE), nullable=False),
        sa.Column("actor", sa.String(ID), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_rollout_transitions"),
    )
    op.create_index("ix_rollout_transitions_ts", "rollout_transitions", ["ts"])
    op.create_table(
        "rollout_evaluations",
        sa.Column("id", AutoId, autoincrement=True, nullable=False),
        sa.Column("ts", sa.BigInteger(), nullable=False),
        sa.Column("stage", sa.String(NAME), nullable=False),
        sa.Column("window_start", sa.BigInteger(), nullable=False),
        sa.Column("outcome", sa.String(CODE), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("results", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_rollout_evaluations"),
    )
    op.create_index("ix_rollout_evaluations_ts", "rollout_evaluations", ["ts"])


def downgrade() -> None:
    op.drop_index("ix_rollout_evaluations_ts", table_name="rollout_evaluations")
    op.drop_index("ix_rollout_transitions_ts", table_name="rollout_transitions")
    for table in ("rollout_evaluations", "rollout_transitions", "rollout_state"):
        op.drop_table(table)

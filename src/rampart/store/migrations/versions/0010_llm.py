"""LLM calls: tokens, cost, cache hits.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-21
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = 128
NAME = 64
CODE = 32
AutoId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def money() -> sa.types.TypeEngine[object]:
    # Exact decimals: text on SQLite, unconstrained NUMERIC on PostgreSQL (see store/types.py).
    return sa.String(64).with_variant(sa.Numeric(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "llm_calls",
        sa.Column("id", AutoId, autoincrement=True, nullable=False),
        sa.Column("ts", sa.BigInteger(), nullable=False),
        sa.Column("agent", sa.String(ID), nullable=False),
        sa.Column("model", sa.String(NAME), nullable=False),
        sa.Column("prompt_tokens", sa.BigInteger(), nullable=False),
        sa.Column("completion_tokens", sa.BigInteger(), nullable=False),
        sa.Column("cost_usd", money(), nullable=False),
        sa.Column("cached", sa.Boolean(), nullable=False),
        sa.Column("outcome", sa.String(CODE), nullable=False),
        sa.Column("latency_ms", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_llm_calls"),
    )
    op.create_index("ix_llm_calls_ts", "llm_calls", ["ts"])


def downgrade() -> None:
    op.drop_index("ix_llm_calls_ts", table_name="llm_calls")
    op.drop_table("llm_calls")

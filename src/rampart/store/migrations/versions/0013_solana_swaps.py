"""The Solana swap journal: one row per attempt of a swap, written before its
transaction is sent, so a crash after sending leaves the signature behind to follow up.

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = 128
NAME = 64
CODE = 32


def money() -> sa.types.TypeEngine[Any]:
    # Exact decimals: text on SQLite, unconstrained NUMERIC on PostgreSQL (see store/types.py).
    return sa.String(64).with_variant(sa.Numeric(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "solana_swaps",
        sa.Column("client_id", sa.String(ID), nullable=False),
        sa.Column("attempt", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("account_id", sa.String(ID), nullable=False),
        sa.Column("symbol", sa.String(NAME), nullable=False),
        sa.Column("side", sa.String(CODE), nullable=False),
        sa.Column("route", sa.String(CODE), nullable=False),
        sa.Column("signature", sa.String(ID), nullable=False),
        sa.Column("last_valid_height", sa.BigInteger(), nullable=False),
        sa.Column("in_mint", sa.String(NAME), nullable=False),
        sa.Column("out_mint", sa.String(NAME), nullable=False),
        sa.Column("quoted_in", money(), nullable=False),
        sa.Column("quoted_out", money(), nullable=False),
        sa.Column("status", sa.String(CODE), nullable=False),
        sa.Column("ts", sa.BigInteger(), nullable=False),
        sa.Column("filled_in", money(), nullable=False),
        sa.Column("filled_out", money(), nullable=False),
        sa.Column("platform_fee", money(), nullable=False),
        sa.Column("partner_fee", money(), nullable=False),
        sa.Column("fee_lamports", sa.BigInteger(), nullable=False),
        sa.Column("err", sa.Text(), nullable=False),
        sa.Column("wallet", sa.String(NAME), nullable=False),
        sa.PrimaryKeyConstraint("client_id", "attempt", name="pk_solana_swaps"),
    )
    op.create_index("ix_solana_swaps_status", "solana_swaps", ["status"])
    op.create_index("ix_solana_swaps_ts", "solana_swaps", ["ts"])


def downgrade() -> None:
    op.drop_index("ix_solana_swaps_ts", table_name="solana_swaps")
    op.drop_index("ix_solana_swaps_status", table_name="solana_swaps")
    op.drop_table("solana_swaps")

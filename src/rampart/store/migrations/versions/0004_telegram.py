"""Telegram investors and their exchange credentials (encrypted; never plaintext).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-21
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = 128
NAME = 64
CODE = 32


def money() -> sa.types.TypeEngine[object]:
    # Exact decimals: text on SQLite, unconstrained NUMERIC on PostgreSQL (see store/types.py).
    return sa.String(64).with_variant(sa.Numeric(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "investors",
        sa.Column("telegram_id", sa.BigInteger(), nullable=False, autoincrement=False),
        sa.Column("account_id", sa.String(ID), nullable=False),
        sa.Column("accepted_disclaimer", sa.Boolean(), nullable=False),
        sa.Column("profile", sa.String(NAME), nullable=False),
        sa.Column("capital", money(), nullable=False),
        sa.Column("mode", sa.String(CODE), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("telegram_id", name="pk_investors"),
        sa.UniqueConstraint("account_id", name="uq_investors_account_id"),
    )
    op.create_table(
        "credentials",
        sa.Column("account_id", sa.String(ID), nullable=False),
        sa.Column("exchange", sa.String(NAME), nullable=False),
        sa.Column("ciphertext", sa.LargeBinary(), nullable=False),
        sa.Column("nonce", sa.LargeBinary(), nullable=False),
        sa.Column("key_id", sa.String(CODE), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("account_id", name="pk_credentials"),
    )


def downgrade() -> None:
    for table in ("credentials", "investors"):
        op.drop_table(table)

"""Market closes: the live feed's hourly closes per symbol, from which the rollout's
Sharpe gate computes buy-and-hold on an exchange's or a DEX's feed.

Revision ID: 0029
Revises: 0028
Create Date: 2027-02-21
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0029"
down_revision: str | None = "0028"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NAME = 64


def upgrade() -> None:
    op.create_table(
        "market_closes",
        sa.Column("symbol", sa.String(NAME), nullable=False),
        sa.Column("ts", sa.BigInteger(), nullable=False),
        sa.Column("close", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("symbol", "ts", name="pk_market_closes"),
    )


def downgrade() -> None:
    op.drop_table("market_closes")

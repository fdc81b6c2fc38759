"""positions.bought_value: what the buys of an open position cost in total.

The ledger now averages the entry price over every buy (``bought_value / bought_qty``), so the
positions table keeps that sum too. Existing rows are backfilled as ``avg_price × bought_qty``
computed in Python with Decimal, because money is text on SQLite and SQL arithmetic on it
would go through floats.

Revision ID: 0002
Revises: 0001
Create Date: 2024-06-02
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def money() -> sa.types.TypeEngine[object]:
    return sa.String(64).with_variant(sa.Numeric(), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("positions") as batch:
        batch.add_column(sa.Column("bought_value", money(), nullable=False, server_default="0"))
    conn = op.get_bind()
    positions = sa.table(
        "positions",
        sa.column("account_id", sa.String()),
        sa.column("symbol", sa.String()),
        sa.column("avg_price", money()),
        sa.column("bought_qty", money()),
        sa.column("bought_value", money()),
    )
    rows = conn.execute(
        sa.select(
            positions.c.account_id,
            positions.c.symbol,
            positions.c.avg_price,
            positions.c.bought_qty,
        )
    ).all()
    pg = conn.dialect.name == "postgresql"
    for account_id, symbol, avg_price, bought_qty in rows:
        value = Decimal(str(avg_price)) * Decimal(str(bought_qty))
        conn.execute(
            positions.update()
            .where(positions.c.account_id == account_id, positions.c.symbol == symbol)
            .values(bought_value=value if pg else format(value, "f"))
        )
    # The default only served the backfill; the writer always supplies the value.
    with op.batch_alter_table("positions") as batch:
        batch.alter_column("bought_value", server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("positions") as batch:
        batch.drop_column("bought_value")

"""What an agent did to a position: the orders that bought into and sold out of it,
and the stop a trade closed with.

``positions`` gains ``entries`` and ``exits`` (the count of buy and sell orders booked) and
``last_buy``/``last_sell`` (the client ids of the last of each, so a part of the same order is
not counted twice); ``trades`` gains ``final_stop`` (the stop-loss when it closed: above
``stop_loss``, the first one, once a stop trailed up), ``entries`` and ``exits``. Rows written
before are not known: their counts read 0 and their final stop 0 (a replay's trades.csv leaves
those cells empty).

Revision ID: 0037_position_counts
Revises: 0036_orders_parent_index
Create Date: 2026-11-28
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0037_position_counts"
down_revision: str | None = "0036_orders_parent_index"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = 128


def money() -> sa.types.TypeEngine[str]:
    """Money as the models keep it: text on SQLite, NUMERIC on PostgreSQL."""
    return sa.String(64).with_variant(sa.Numeric(), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("positions") as batch:
        batch.add_column(sa.Column("entries", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("exits", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("last_buy", sa.String(ID), nullable=False, server_default=""))
        batch.add_column(sa.Column("last_sell", sa.String(ID), nullable=False, server_default=""))
    with op.batch_alter_table("trades") as batch:
        batch.add_column(sa.Column("final_stop", money(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("entries", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("exits", sa.Integer(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("trades") as batch:
        for name in ("exits", "entries", "final_stop"):
            batch.drop_column(name)
    with op.batch_alter_table("positions") as batch:
        for name in ("last_sell", "last_buy", "exits", "entries"):
            batch.drop_column(name)

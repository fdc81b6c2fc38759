"""solana_swaps: the platform fee's own mint, the best route and what the route choice cost;
no partner fee.

bags.fm takes its fee in native SOL when either leg is SOL (else a stablecoin leg, else the
input), so a fee amount means nothing without its mint; rows written before kept every fee in
the quote token, so they get their quote leg's mint (the input of a buy, the
output of a sell). bags.fm pays no partner share of a swap: the ``partner_fee`` column held a
figure nobody earned and is dropped. ``best_route`` is empty and ``route_cost`` zero on old
rows: routes were not compared per swap then.

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-23
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NAME = 64
CODE = 32


def money() -> sa.types.TypeEngine[Any]:
    return sa.String(64).with_variant(sa.Numeric(), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("solana_swaps") as batch:
        batch.add_column(
            sa.Column("platform_fee_mint", sa.String(NAME), nullable=False, server_default="")
        )
        batch.add_column(
            sa.Column("best_route", sa.String(CODE), nullable=False, server_default="")
        )
        batch.add_column(sa.Column("route_cost", money(), nullable=False, server_default="0"))
        batch.drop_column("partner_fee")
    swaps = sa.table(
        "solana_swaps",
        sa.column("side", sa.String()),
        sa.column("in_mint", sa.String()),
        sa.column("out_mint", sa.String()),
        sa.column("platform_fee_mint", sa.String()),
    )
    quote_leg = sa.case((swaps.c.side == "buy", swaps.c.in_mint), else_=swaps.c.out_mint)
    op.get_bind().execute(swaps.update().values(platform_fee_mint=quote_leg))
    # The defaults only served the rows already there; the writer always supplies the values.
    with op.batch_alter_table("solana_swaps") as batch:
        batch.alter_column("platform_fee_mint", server_default=None)
        batch.alter_column("best_route", server_default=None)
        batch.alter_column("route_cost", server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("solana_swaps") as batch:
        batch.add_column(sa.Column("partner_fee", money(), nullable=False, server_default="0"))
        batch.drop_column("route_cost")
        batch.drop_column("best_route")
        batch.drop_column("platform_fee_mint")
    with op.batch_alter_table("solana_swaps") as batch:
        batch.alter_column("partner_fee", server_default=None)

"""Table of revisions 0013 and 0014: the Solana swap journal, one row per attempt of a swap."""

from __future__ import annotations

import sqlalchemy as sa

from rampart.store.models.columns import CODE, ID, NAME, Col, metadata
from rampart.store.types import Money

# One attempt of one swap, written before its transaction is sent and replaced as its
# outcome becomes known. Amounts are token units (not base units); the platform fee is in its
# own mint (one of the two legs); ``route_cost`` is in the quote token; ``fee_lamports`` is the
# network fee paid from the gas tank. Revision 0014 dropped ``partner_fee`` and added the
# fee's mint and what the route choice cost.
solana_swaps = sa.Table(
    "solana_swaps",
    metadata,
    Col("client_id", sa.String(ID), primary_key=True),
    Col("attempt", sa.Integer, primary_key=True, autoincrement=False),
    Col("account_id", sa.String(ID)),
    Col("symbol", sa.String(NAME)),
    Col("side", sa.String(CODE)),
    Col("route", sa.String(CODE)),
    Col("signature", sa.String(ID)),
    Col("last_valid_height", sa.BigInteger),
    Col("in_mint", sa.String(NAME)),
    Col("out_mint", sa.String(NAME)),
    Col("quoted_in", Money),
    Col("quoted_out", Money),
    Col("status", sa.String(CODE)),
    Col("ts", sa.BigInteger),
    Col("filled_in", Money),
    Col("filled_out", Money),
    Col("platform_fee", Money),
    Col("platform_fee_mint", sa.String(NAME)),
    Col("best_route", sa.String(CODE)),
    Col("route_cost", Money),
    Col("fee_lamports", sa.BigInteger),
    Col("err", sa.Text),
    Col("wallet", sa.String(NAME)),
    sa.Index("ix_solana_swaps_status", "status"),
    sa.Index("ix_solana_swaps_ts", "ts"),
)

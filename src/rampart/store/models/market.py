"""Table of revision 0029: hourly closes of the live feed, for the rollout's buy-and-hold."""

from __future__ import annotations

import sqlalchemy as sa

from rampart.store.models.columns import NAME, Col, metadata

# The last close the live feed (an exchange's or a DEX's) delivered in each UTC hour, keyed by
# the hour's start (ms). A replayed or synthetic feed can be re-read from its start; a live one
# cannot, so the Sharpe-against-buy-and-hold gate reads these (rampart.store.market_closes).
market_closes = sa.Table(
    "market_closes",
    metadata,
    Col("symbol", sa.String(NAME), primary_key=True),
    Col("ts", sa.BigInteger, primary_key=True),
    Col("close", sa.Float),
)

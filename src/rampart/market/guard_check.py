"""Whether guard settings would hold Rampart's own data as suspect (checked when they load).

The project ships no market data: its own data is the synthetic feed (the default of
``rampart run``). Settings of the guard other than the defaults are tried on a sample of it,
and refused in one sentence when they would quarantine any of it: a guard that cries wolf on
ordinary candles pauses entries for nothing and hides real alarms.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rampart.clock import ms_to_datetime
from rampart.market.synthetic import DEFAULT_START_PRICES, SyntheticFeed

if TYPE_CHECKING:
    from rampart.market.price_guard import GuardConfig

SAMPLE = 20_000
"""Candles of each default symbol tried (about two weeks of minutes)."""


def own_data_flagged(config: GuardConfig) -> str | None:
    """The refusal when ``config`` quarantines any sampled synthetic candle, else None."""
    from rampart.market.price_guard import PriceGuard

    symbols = sorted(DEFAULT_START_PRICES)
    feed = SyntheticFeed(symbols)
    guard = PriceGuard(config, "settings check")
    for symbol in symbols:
        for candle in feed.generate(symbol, SAMPLE).iter_candles():
            guard.admit(candle)
    if not guard.listed:
        return None
    first = guard.listed[0]
    total = sum(guard.counts.values())
    when = ms_to_datetime(first.ts).strftime("%Y-%m-%d %H:%M")
    return (
        f"these feed.guard settings would quarantine {total:,} of Rampart's own synthetic "
        f"candles (the first: {first.symbol} at {when} UTC, where {first.reason}); widen the "
        "bands (move_band, sigma_multiple, wick_band, cold_band)"
    )


__all__ = ["own_data_flagged"]

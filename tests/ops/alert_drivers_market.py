"""Drivers of the market-data guard's rules for the alert harness: each puts the
rule's value just past its threshold (fire) or on its quiet side."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tests.ops.alert_drivers import Driver
    from tests.ops.alert_harness import Harness


def _suspect(h: Harness) -> None:
    h.metrics.launch.market_data.quarantined("BTC/USDT", "ccxt", "0.042", "37,000–45,000", "held")


def _held(candles: int, symbols: int) -> Callable[[Harness], None]:
    def act(h: Harness) -> None:
        h.metrics.launch.market_data.holding("BTC/USDT", candles, symbols)

    return act


def market_drivers(driver: type[Driver], nothing: Callable[[Harness], None]) -> dict[str, Driver]:
    return {
        "MarketDataSuspect": driver(
            fire=_suspect,
            sustain_fire=_suspect,
            quiet=nothing,  # no suspect price: the quiet side (one is enough to fire)
            clear=nothing,
            windowed=True,
        ),
        # One more held candle than alerts.levels.market_data_held_candles (3) fires.
        "MarketDataHeld": driver(fire=_held(4, 1), quiet=_held(3, 1), clear=_held(0, 0)),
        "MarketDataSuspectMany": driver(fire=_held(1, 2), quiet=_held(1, 1), clear=_held(0, 0)),
    }

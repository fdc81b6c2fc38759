"""The price guard's fast path (the next candle on the grid, nothing
held) reads the candle's open as well as its close: an open far outside the band is held, a low
above the open or a high below it is dropped, though the close alone would pass. Pins
``market/price_guard.py`` ``PriceGuard.admit`` (``low <= o <= high`` and the body's top and
bottom taken from both the open and the close)."""

from __future__ import annotations

import pytest
from tests.market.test_price_guard import MIN, SYM, warmed

from rampart.domain.candles import Candle


def _candle(close: float, open_: float, high: float, low: float) -> Candle:
    return Candle(SYM, 60 * MIN, open_, high, low, close, 5.0)


@pytest.mark.parametrize(
    ("open_", "high", "low", "field", "outcome"),
    [
        (3.0, 3.003, 0.999, "open", "held"),  # the open 3× the last price, the close calm
        (0.999, 1.001, 0.9995, "low", "dropped"),  # the low above the open
        (1.001, 1.0005, 0.999, "high", "dropped"),  # the high below the open
    ],
)
def test_the_fast_path_reads_the_open(
    open_: float, high: float, low: float, field: str, outcome: str
) -> None:
    guard, close = warmed()
    candle = _candle(close, open_ * close, max(high * close, close), min(low * close, close))
    assert guard.admit(candle) == ()
    [item] = guard.listed
    assert (item.field, item.outcome) == (field, outcome)

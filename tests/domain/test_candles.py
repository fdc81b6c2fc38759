"""Timeframes: the names config and data files use, and the error that lists them."""

from __future__ import annotations

import pytest

from rampart.domain.candles import TIMEFRAME_MS, timeframe_ms


def test_an_unknown_timeframe_lists_the_known_ones() -> None:
    assert timeframe_ms("4h") == 14_400_000
    with pytest.raises(ValueError) as err:
        timeframe_ms("7m")
    assert str(err.value) == f"unknown timeframe '7m'; use one of {', '.join(TIMEFRAME_MS)}"
    assert str(err.value).endswith("1m, 3m, 5m, 15m, 30m, 1h, 2h, 4h, 6h, 12h, 1d")

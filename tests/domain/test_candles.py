"""Timeframes: the names config and data files use, and the error that lists them; a candle's
close as money."""

from __future__ import annotations

import pytest

from rampart.domain.candles import TIMEFRAME_MS, timeframe_ms


def test_an_unknown_timeframe_lists_the_known_ones() -> None:
    assert timeframe_ms("4h") == 14_400_000
    with pytest.raises(ValueError) as err:
        timeframe_ms("7m")
    assert str(err.value) == f"unknown timeframe '7m'; use one of {', '.join(TIMEFRAME_MS)}"
    assert str(err.value).endswith("1m, 3m, 5m, 15m, 30m, 1h, 2h, 4h, 6h, 12h, 1d")


def test_a_candles_close_as_money_is_its_shortest_repr_worked_out_when_it_is_built() -> None:
    """The engine marks every position with ``close_dec`` on every candle; a search's trials
    trade one list of candles again and again, so it is worked out once, when the candle is
    built, and a candle made from another (``replace``) works out its own."""
    import pickle
    from dataclasses import replace
    from decimal import Decimal

    from rampart.domain.candles import Candle

    candle = Candle("XLM/BTC", 0, 0.00003127, 0.0000313, 0.0000312, 0.00003127, 10.0, 300_000)
    assert candle.close_dec == Decimal("0.00003127")  # as it reads, not the binary float
    assert str(candle.close_dec) == "0.00003127"
    moved = replace(candle, close=0.1)
    assert moved.close_dec == Decimal("0.1")
    assert moved == replace(candle, close=0.1) and moved != candle
    assert pickle.loads(pickle.dumps(candle)).close_dec == Decimal("0.00003127")

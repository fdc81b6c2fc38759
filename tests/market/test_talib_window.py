"""TA-Lib over a bounded window of closed candles (rampart.market.talib_window): the newest
value and the ones before it equal TA-Lib run over the whole series, several outputs by name,
NaN while warming up, and nothing of a later candle."""

from __future__ import annotations

import math
import random

import pytest

from rampart.domain.candles import Candle
from rampart.market.talib_window import TalibWindow

np = pytest.importorskip("numpy")
ta = pytest.importorskip("talib.abstract")


def _walk(n: int) -> list[Candle]:
    rng = random.Random(7)
    price, out = 100.0, []
    for i in range(n):
        o = price
        price *= 1 + rng.gauss(0, 0.01)
        hi, lo = max(o, price) * 1.002, min(o, price) * 0.998
        out.append(Candle("X/USDT", i * 60_000, o, hi, lo, price, 10 + rng.random(), 60_000))
    return out


def test_values_equal_talib_over_the_whole_series() -> None:
    candles = _walk(1_500)
    whole = {
        c: np.array([getattr(k, c) for k in candles])
        for c in ("open", "high", "low", "close", "volume")
    }
    rsi, macd = ta.RSI(whole), ta.MACD(whole)
    window = TalibWindow(size=600)
    for i, candle in enumerate(candles):
        window.update(candle)
        if i < 13:
            assert math.isnan(window("RSI"))  # warming up, as TA-Lib says
        if i >= 700:  # the window has forgotten its start
            assert window("RSI") == pytest.approx(rsi[i], rel=1e-12)
            assert window("RSI", back=3) == pytest.approx(rsi[i - 3], rel=1e-12)
            assert window("MACD", "macdsignal") == pytest.approx(macd[1][i], rel=1e-9)
    assert window.candles == 1_500 and len(window.column("close")) == 600


def test_a_function_with_several_outputs_must_be_named() -> None:
    window = TalibWindow(size=50)
    for candle in _walk(60):
        window.update(candle)
    with pytest.raises(ValueError, match="several outputs"):
        window("STOCHF")
    assert 0 <= window("STOCHF", "fastd") <= 100
    assert math.isnan(window("RSI", back=50))  # before the window's first candle

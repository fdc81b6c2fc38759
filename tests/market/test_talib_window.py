"""TA-Lib over a bounded window of closed candles (rampart.market.talib_window): the newest
value and the ones before it equal TA-Lib run over the whole series, several outputs by name,
NaN while warming up, and nothing of a later candle."""

from __future__ import annotations

import math
import random
from pathlib import Path
from typing import Any

import pytest

from rampart.domain.candles import Candle
from rampart.market.loaders import load_candles
from rampart.market.talib_window import (
    INDEX_FUNCTIONS,
    RUNNING_PRODUCTS,
    RUNNING_TOTALS,
    TalibWindow,
)

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


def test_every_talib_function_equals_its_whole_file_value_on_real_data(
    shared_data: Path,
) -> None:
    """Every TA-Lib function (but MAVP, whose periods are an input of its own) over the default
    window equals TA-Lib run over the whole file: the recursive ones have forgotten the
    window's start, the running totals are anchored on the history, the index functions count
    from the first candle. VWAP without a period is the window's (stated in the module)."""
    talib = pytest.importorskip("talib")
    pd = pytest.importorskip("pandas")
    file = shared_data / "ETH_BTC-5m.feather"
    df = pd.read_feather(file)
    whole = {c: df[c].to_numpy(dtype=float) for c in ("open", "high", "low", "close", "volume")}
    names = [n for n in talib.get_functions() if n not in ("MAVP", "VWAP")]
    running = RUNNING_TOTALS | RUNNING_PRODUCTS
    assert set(names) >= running | INDEX_FUNCTIONS
    want: dict[tuple[str, str | None], Any] = {}
    for name in names:
        fn = ta.Function(name)
        outputs = fn(whole)
        many = isinstance(outputs, list)
        for output, values in zip(fn.output_names, outputs if many else [outputs], strict=True):
            want[name, output if many else None] = values
    window, checked = TalibWindow(), 0
    for i, candle in enumerate(load_candles(file).series.iter_candles()):
        window.update(candle)
        sampled = i >= 1_200 and i % 500 == 0
        for (name, output), values in want.items():
            if not (sampled or name in running):
                continue  # a running total is asked on every candle, as the module says
            got, expected = window(name, output), values[i]
            if sampled and not (math.isnan(got) and math.isnan(expected)):
                scale = float(np.nanmax(np.abs(values))) or 1.0
                assert math.isclose(got, expected, rel_tol=1e-7, abs_tol=1e-9 * scale), (
                    f"{name} {output or ''} at candle {i}: {got} against {expected}"
                )
                checked += 1
    assert checked > 2_000


def test_a_running_total_asked_late_or_not_on_every_candle_says_so() -> None:
    late = TalibWindow(size=50)
    for candle in _walk(60):
        late.update(candle)
    with pytest.raises(ValueError, match="OBV sums every candle since the first"):
        late("OBV")
    skipping = TalibWindow(size=50)
    for i, candle in enumerate(_walk(30)):
        skipping.update(candle)
        if i in (0, 1, 5):
            if i == 5:
                with pytest.raises(ValueError, match="on every candle"):
                    skipping("AD")
            else:
                skipping("AD")

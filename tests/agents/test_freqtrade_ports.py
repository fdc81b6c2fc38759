"""Freqtrade's own strategies ported with docs/authors/from-freqtrade.md alone: their entry and
exit signals equal Freqtrade's on the shared 5m files, candle for candle.

The reference is computed here as Freqtrade's populate_* methods compute it (Freqtrade itself is
not installed): TA-Lib's abstract functions over the whole file's data frame, and qtpylib's
crossed_above and bollinger_bands (the same pandas operations as qtpylib's, written out). The
ports see one closed candle at a time, with TA-Lib over a bounded window
(rampart.market.talib_window): equal signals say the window forgets nothing that matters and
that no port reads a later candle. Compared from each strategy's startup_candle_count on."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from rampart.market.loaders import load_candles

pd = pytest.importorskip("pandas")
ta = pytest.importorskip("talib.abstract")

EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "authors" / "examples"
FILES = ("ETH_BTC-5m.feather", "XLM_BTC-5m.feather")


def _example(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"ported_{name}", EXAMPLES / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def crossed_above(a: Any, b: Any) -> Any:
    """qtpylib.crossed_above."""
    b = b if isinstance(b, pd.Series) else pd.Series(index=a.index, data=b)
    return (a > b) & (a.shift(1) <= b.shift(1))


def freqtrade_101(df: Any) -> tuple[Any, Any]:
    rsi = ta.RSI(df, timeperiod=14)
    return rsi < 30, rsi > 70


def sample_strategy(df: Any) -> tuple[Any, Any]:
    rsi, tema = ta.RSI(df), ta.TEMA(df, timeperiod=9)
    typical = (df["high"] + df["low"] + df["close"]) / 3.0
    middle = typical.rolling(window=20, min_periods=1).mean()  # qtpylib.bollinger_bands' mid
    traded = df["volume"] > 0
    enter = crossed_above(rsi, 30) & (tema <= middle) & (tema > tema.shift(1)) & traded
    leave = crossed_above(rsi, 70) & (tema > middle) & (tema < tema.shift(1)) & traded
    return enter, leave


def strategy_test_v3(df: Any) -> tuple[Any, Any]:
    adx, plus_di, minus_di, rsi = ta.ADX(df), ta.PLUS_DI(df), ta.MINUS_DI(df), ta.RSI(df)
    fastd = ta.STOCHF(df)["fastd"]
    enter = ((rsi < 35) & (fastd < 35) & (adx > 30) & (plus_di > 0.5)) | (
        (adx > 65) & (plus_di > 0.5)
    )
    leave = ((crossed_above(rsi, 74) | crossed_above(fastd, 70)) & (adx > 10) & (minus_di > 0)) | (
        (adx > 70) & (minus_di > 0.5)
    )
    return enter, leave


PORTS = {
    "freqtrade_101": ("MyStrategy", freqtrade_101, 0),
    "sample_strategy": ("SampleStrategy", sample_strategy, 200),
    "strategy_test_v3": ("StrategyTestV3", strategy_test_v3, 20),
}


@pytest.mark.parametrize("file", FILES)
@pytest.mark.parametrize("port", list(PORTS))
def test_a_ported_strategys_signals_equal_freqtrades(
    shared_data: Path, port: str, file: str
) -> None:
    cls_name, reference, startup = PORTS[port]
    df = pd.read_feather(shared_data / file)
    enter, leave = reference(df)
    agent = getattr(_example(port), cls_name)()
    got_enter, got_exit = [], []
    for candle in load_candles(shared_data / file).series.iter_candles():
        agent.update(candle)
        got_enter.append(bool(agent.enter))
        got_exit.append(bool(agent.exit))
    assert len(got_enter) == len(df)
    want_enter = [bool(x) for x in enter.fillna(False)][startup:]
    want_exit = [bool(x) for x in leave.fillna(False)][startup:]
    # Entries to compare on every file; sample_strategy's exit (RSI crossing 70 up while TEMA
    # falls) fires on none of the shared files, in Freqtrade as here.
    assert sum(want_enter) > 0 and (sum(want_exit) > 0 or port == "sample_strategy")
    entries = [
        i for i, (a, b) in enumerate(zip(got_enter[startup:], want_enter, strict=True)) if a != b
    ]
    exits = [
        i for i, (a, b) in enumerate(zip(got_exit[startup:], want_exit, strict=True)) if a != b
    ]
    assert (entries, exits) == ([], []), f"{sum(want_enter)} entries, {sum(want_exit)} exits"

"""The candle files ``rampart optimize`` searches: one file, several, or a folder of them, loaded
once in this process (the workers forked for the trials inherit them)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rampart.domain.errors import ConfigError

if TYPE_CHECKING:
    from rampart.config import Settings


def data_files(paths: list[Path]) -> list[Path]:
    """``--data`` as files: a folder stands for its candle files (named with their symbol and
    timeframe, like ``ETH_BTC-5m.feather``), in name order, as ``rampart replay`` reads one."""
    from rampart.wiring.replay import candle_files

    return candle_files(paths)


@dataclass(frozen=True)
class Loaded:
    """One searched file: its candles, backtest, folds and closes."""

    path: Path
    label: str
    symbol: str
    timeframe: str
    timeframe_ms: int
    folds: list[Any]
    backtest: Any
    closes: list[tuple[int, float]]
    spans: list[tuple[int, int, int, int]]
    left_out: int = 0
    """Candles in no fold: inside a declared input's span (it was made from them)."""


def load_files(
    settings: Settings,
    files: list[Path],
    agent: str,
    profile: str,
    capital: Decimal,
    folds: int,
    in_blocks: int,
    informative: list[Path] | None = None,
    after_ms: int | None = None,
) -> list[Loaded]:
    """Every file loaded, with its own walk-forward folds; refuses files of mixed timeframes
    in one sentence. ``informative``: other symbols' files, looked at by an agent declaring
    them, fed to every trial beside the searched file's candles. ``after_ms``: where the
    agent's declared inputs' spans end; the folds count only candles opened after it."""
    from rampart.domain.instruments import Instrument
    from rampart.domain.performance import period_for
    from rampart.market.loaders import load_candles
    from rampart.research.folds import walk_forward
    from rampart.wiring.backtest import EngineBacktest
    from rampart.wiring.replay_informative import other_candles

    others = tuple(other_candles(informative or []))

    out: list[Loaded] = []
    for path in files:
        series = load_candles(path).series
        if out and series.timeframe_ms != out[0].timeframe_ms:
            raise ConfigError(
                f"The files mix timeframes ({out[0].path.name} is {out[0].timeframe}, "
                f"{path.name} is {series.timeframe}): one study searches one timeframe."
            )
        candles = list(series.iter_candles())
        skip = 0 if after_ms is None else sum(1 for c in candles if c.ts <= after_ms)
        fold_list = walk_forward(len(candles), folds, in_blocks, first=skip)
        instrument = Instrument.for_price(series.symbol, series.typical_price())
        period_ms = period_for(series.timeframe_ms)
        backtest = EngineBacktest(
            settings, agent, profile, capital, candles, instrument, period_ms, others=others
        )
        spans = [
            (
                candles[f.in_sample.start].close_ts,
                candles[f.in_sample.end - 1].close_ts,
                candles[f.out_of_sample.start].close_ts,
                candles[f.out_of_sample.end - 1].close_ts,
            )
            for f in fold_list
        ]
        shown = f"{path.name} ({series.symbol}, {series.timeframe}, {len(candles):,} candles)"
        out.append(
            Loaded(
                path=path,
                label=shown,
                symbol=series.symbol,
                timeframe=series.timeframe,
                timeframe_ms=series.timeframe_ms,
                folds=fold_list,
                backtest=backtest,
                closes=[(c.close_ts, float(c.close)) for c in candles],
                spans=spans,
                left_out=skip,
            )
        )
    return out

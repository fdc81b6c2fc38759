"""Informative symbols in research: `rampart optimize --informative-data` feeds another symbol's
closed bars to every trial, as `rampart replay` does, so an agent reading another symbol is
searched on what it will trade on (before, its series stayed empty in every trial)."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from rampart.agents import plugins
from rampart.cli.main import app
from rampart.config import load_settings
from rampart.domain.instruments import Instrument
from rampart.domain.performance import period_for
from rampart.market.loaders import load_candles
from rampart.market.writers import write_candles
from rampart.research.trial import Span
from rampart.wiring.backtest import EngineBacktest
from rampart.wiring.replay_informative import other_candles

OTHER = "XRP_ETH-5m.feather"

WATCHER = '''
import json

from rampart.agents.base import AgentBase


class Watcher(AgentBase):
    """Looks at XRP/ETH's hourly bars while trading another symbol: never proposes."""

    name = "watcher"
    warmup = 0
    informative = (("XRP/ETH", "1h"),)

    def update(self, candle):
        pass

    def decide(self, view):
        bars = [[b.ts, b.timeframe_ms] for b in view.series("XRP/ETH", "1h")]
        with open("seen.jsonl", "a") as out:
            out.write(json.dumps([view.ts, bars]) + "\\n")
        return []
'''


def _traded(shared_data: Path, tmp_path: Path) -> Path:
    # The shared 1m file of the same days, written as another symbol: traded; XRP/ETH looked at.
    base = load_candles(shared_data / "XRP_ETH-1m.feather").series.head(300)
    return write_candles(base, tmp_path / "ABC_ETH-1m.json")


def test_every_trial_sees_the_other_symbols_closed_hours(
    shared_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(plugins, "_resolved", {})
    monkeypatch.chdir(tmp_path)
    (tmp_path / "watcher.py").write_text(WATCHER, encoding="utf-8")
    series = load_candles(_traded(shared_data, tmp_path)).series
    candles = list(series.iter_candles())
    backtest = EngineBacktest(
        load_settings(None),
        "watcher.py:Watcher",
        "moderate",
        Decimal(1000),
        candles,
        Instrument.for_price(series.symbol, series.typical_price()),
        period_for(series.timeframe_ms),
        others=other_candles([shared_data / OTHER]),
    )
    (tmp_path / "seen.jsonl").unlink(missing_ok=True)  # the probe's decisions at first naming
    for _ in range(2):  # a second trial starts its own series afresh, fed again
        backtest({}, Span(30, 60, 300))
    first = load_candles(shared_data / OTHER).series.first_ts or 0
    seen = [json.loads(line) for line in (tmp_path / "seen.jsonl").read_text().splitlines()]
    traded = [(ts, bars) for ts, bars in seen if ts > first + 3_600_000]
    assert len(traded) >= 2 * 200
    for ts, bars in traded:
        assert len(bars) == min((ts - first) // 3_600_000, 300), ts  # the closed hours, no more
        assert all(start + tf <= ts for start, tf in bars)


def test_optimize_takes_informative_data(
    shared_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    done = CliRunner().invoke(
        app,
        [
            *("optimize", "--data", str(shared_data / OTHER), "--agent", "trend"),
            *("--informative-data", str(shared_data / OTHER), "--trials", "2", "--folds", "2"),
            *("--jobs", "1", "--seed", "1", "--storage", str(tmp_path / "study.log")),
        ],
    )
    assert done.exit_code == 0, done.output
    assert "out-of-sample" in done.output.lower()

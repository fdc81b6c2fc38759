"""Freqtrade's strategies ported with docs/authors/from-freqtrade.md trade as Freqtrade's backtest
does, but for the fill-model differences the guide states, each counted in its table.

Each port is replayed by Rampart on shared 5m files. The reference is a backtest written from
Freqtrade's documented rules (tests/agents/freqtrade_backtest.py) on the signals Freqtrade's
populate_* methods compute (test_freqtrade_ports.py). Rampart's rules are then switched on one at
a time, in the guide's order: the trades each one moves to other candles or other prices are
counted, and with every rule on, the backtest's trades must equal the replay's, candle for
candle and price for price. A difference no stated rule explains fails the test.

The replay's account: 1 BTC, a profile that takes the ports' 10 % stop and 0-4 % targets (the
override the replay's summary names), and the breakers Freqtrade has no counterpart of (losses
in a row, daily loss, drawdown) set wide, so that every entry Freqtrade takes is taken.
"""

from __future__ import annotations

import asyncio
import csv
import re
from collections import Counter
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from rampart.config import load_settings
from rampart.domain.instruments import Instrument
from rampart.market.loaders import load_candles
from rampart.wiring.replay import run_replay
from tests.agents.freqtrade_backtest import RAMPART_RULES, Rules, Trade, backtest
from tests.agents.test_freqtrade_ports import EXAMPLES, FILES, PORTS, _example

pd = pytest.importorskip("pandas")
pytest.importorskip("talib")

GUIDE = EXAMPLES.parent / "from-freqtrade.md"
FIVE_MINUTES_MS = 300_000
OVERRIDE = {
    "moderate": {
        "max_stop": "0.11",
        "min_rr": "0.0001",
        "consecutive_losses": 1_000_000,
        "daily_loss": "0.99",
        "max_drawdown": "0.99",
    }
}
ROWS = {
    "bracket_from_close": "stop and target priced from the close the entry was decided on",
    "gap_at_open": "a stop the candle opened below fills at the open",
    "target_at_its_price": "the target fills at its own price on a candle that opened above it",
    "roi_at_close": "a rung reached at a close sells at the next open",
    "slippage": "slippage on market and stop fills",
    "volume_cap": "at most 10 % of a candle's volume fills",
}


@dataclass(frozen=True)
class Run:
    port: str
    file: str
    steps: tuple[list[Trade], ...]
    """Freqtrade's trades, then the trades with each of Rampart's rules switched on in turn."""
    replayed: list[tuple[int, int, str, Decimal, Decimal]]


def _replayed(trades_csv: Path, at: dict[int, int]) -> list[dict[str, Any]]:
    """The replay's trades: entry and exit candle, exit reason, prices, quantity."""
    with trades_csv.open() as f:
        rows = list(csv.DictReader(f))
    return [
        {
            "entry": at[int(r["opened_at"]) - FIVE_MINUTES_MS],  # a fill is stamped at its
            "exit": at[int(r["closed_at"]) - FIVE_MINUTES_MS],  # candle's end
            "reason": r["exit_reason"],
            "bought": Decimal(r["entry_price"]),
            "sold": Decimal(r["exit_price"]),
            "qty": Decimal(r["qty"]),
        }
        for r in rows
    ]


def _run(data: Path, port: str, file: str, out: Path) -> Run:
    cls_name, reference, startup = PORTS[port]
    df = pd.read_feather(data / file)
    enter_s, leave_s = reference(df)
    enter = [bool(x) for x in enter_s.fillna(False)]
    leave = [bool(x) for x in leave_s.fillna(False)]
    exits = getattr(_example(port), cls_name).exits
    series = load_candles(data / file).series
    instrument = Instrument.for_price(series.symbol, series.typical_price())
    settings = load_settings(profiles=OVERRIDE)
    agent = f"{EXAMPLES / port}.py:{cls_name}"
    result = asyncio.run(
        run_replay(data / file, agent, "moderate", Decimal(1), settings, out, chart=False)
    )
    at = {int(ts.value // 1_000_000): i for i, ts in enumerate(df["date"])}
    trades = _replayed(result.trades_csv, at)
    replayed = [(t["entry"], t["exit"], t["reason"], t["bought"], t["sold"]) for t in trades]
    fills = {t["entry"]: (t["bought"], t["qty"]) for t in trades}
    rules, steps = Rules(), [backtest(df, enter, leave, exits, startup, instrument, Rules())]
    for name in RAMPART_RULES:
        rules = rules.with_(name)
        steps.append(backtest(df, enter, leave, exits, startup, instrument, rules, fills))
    return Run(port, file, tuple(steps), replayed)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> list[Run]:
    from tests.conftest import SHARED_DATA

    if not SHARED_DATA.is_dir():
        pytest.skip(f"real candles not found at {SHARED_DATA}")
    out = tmp_path_factory.mktemp("ports")
    return [
        _run(SHARED_DATA, port, file, out / f"{port}-{file}") for port in PORTS for file in FILES
    ]


def count(runs: list[Run]) -> dict[str, tuple[int, int]]:
    """Per row of the guide's table: the trades at other candles (entry, exit or its kind) and
    those at other prices only, against the step before."""
    table: Counter[str] = Counter()
    moved: Counter[str] = Counter()
    for run in runs:
        for name, before, after in zip(RAMPART_RULES, run.steps[:-1], run.steps[1:], strict=True):
            times = {t.times for t in before}
            same = set(before)
            moved[name] += sum(1 for t in after if t.times not in times)
            table[name] += sum(1 for t in after if t.times in times and t not in same)
    return {ROWS[name]: (moved[name], table[name]) for name in RAMPART_RULES}


def guide_table() -> dict[str, tuple[int, int]]:
    """The guide's rows whose label is one of ROWS: (at other candles, at other prices only)."""
    text = GUIDE.read_text(encoding="utf-8")
    rows = {}
    for label, a, b in re.findall(r"^\| (.+?) \| ([\d,]+) \| ([\d,]+) \|$", text, re.M):
        if label in ROWS.values():
            rows[label] = (int(a.replace(",", "")), int(b.replace(",", "")))
    return rows


def test_every_difference_from_freqtrades_trades_is_a_stated_rule(runs: list[Run]) -> None:
    for run in runs:
        model = sorted(t.as_replayed for t in run.steps[-1])
        unexplained = sorted(set(model) ^ set(run.replayed))
        assert unexplained == [], (
            f"{run.port} on {run.file}: trades no stated rule explains (entry candle, exit "
            f"candle, exit reason, prices), in the backtest or the replay only: {unexplained}"
        )
        assert len(model) == len(run.replayed)
    # Something to compare: every port trades on every file, and exits every way but a gap.
    assert all(len(r.replayed) >= 10 for r in runs)
    kinds = {t.kind for r in runs for t in r.steps[0]} | {t.kind for r in runs for t in r.steps[-1]}
    assert {"signal", "stop", "roi", "roi_close", "end"} <= kinds


def test_the_guides_table_counts_each_rules_trades(runs: list[Run]) -> None:
    counted = count(runs)
    assert guide_table() == counted, f"the guide's table should read {counted}"
    freqtrade = sum(len(r.steps[0]) for r in runs)
    rampart = sum(len(r.replayed) for r in runs)
    said = f"Freqtrade's backtest makes {freqtrade} trades and Rampart's replay {rampart}"
    assert said in " ".join(GUIDE.read_text(encoding="utf-8").split())

"""Every template of ``rampart agents new --template`` writes a working agent
and its test: the test passes as written, the agent replays on a shared file and passes
check-lookahead and check-warmup. Templates are found in rampart/agents/templates, so one
added there is held to the same here."""

from __future__ import annotations

import csv
import importlib.util
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from rampart.agents import plugins
from rampart.agents.templates import templates
from rampart.cli.main import app
from rampart.market.loaders import load_candles
from rampart.market.writers import write_candles

runner = CliRunner()
SHORT = "XRP_ETH-5m.feather"
"""706 candles of 5 minutes: the CI search's file."""


def test_the_templates_are_found_in_their_folder() -> None:
    assert {"basic", "multi-timeframe"} <= set(templates())


def test_an_unknown_template_is_refused_in_plain_words(tmp_path: Path) -> None:
    done = runner.invoke(app, ["agents", "new", "mine", "--dir", str(tmp_path), "--template", "x"])
    assert done.exit_code == 2
    assert "There is no agent template 'x'; choose one of basic, multi-timeframe" in done.output


@pytest.mark.parametrize("template", templates())
def test_each_template_replays_and_passes_both_checks(
    template: str, shared_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(plugins, "_resolved", {})
    monkeypatch.chdir(tmp_path)
    done = runner.invoke(app, ["agents", "new", "mine", "--template", template])
    assert done.exit_code == 0, done.output
    # Its own test passes as written.
    loaded = importlib.util.spec_from_file_location(f"test_mine_{template}", "test_mine.py")
    assert loaded is not None and loaded.loader is not None
    module = importlib.util.module_from_spec(loaded)
    loaded.loader.exec_module(module)
    tests = [f for name, f in vars(module).items() if name.startswith("test_")]
    assert tests
    for test in tests:
        test()
    data = str(shared_data / SHORT)
    played = runner.invoke(app, ["replay", "--data", data, "--agent", "mine.py:Mine", "--no-chart"])
    assert played.exit_code == 0, played.output
    with (tmp_path / "out" / "replay-XRP_ETH-5m-Mine-moderate" / "trades.csv").open() as f:
        assert any(t["strategy"] == "mine" for t in csv.DictReader(f))
    look = runner.invoke(app, ["check-lookahead", "mine.py:Mine", "--data", data, "--signals", "8"])
    assert look.exit_code == 0 and "No lookahead" in look.output, look.output
    warm = runner.invoke(app, ["check-warmup", "mine.py:Mine", "--data", data, "--targets", "6"])
    assert warm.exit_code == 0 and "passed" in warm.output, warm.output


OTHER = '''
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
        bars = [[b.ts, b.timeframe_ms, b.close] for b in view.series("XRP/ETH", "1h")]
        with open("seen.jsonl", "a") as out:
            out.write(json.dumps([view.ts, bars]) + "\\n")
        return []
'''


def test_a_replay_shows_another_symbols_closed_bars(
    shared_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(plugins, "_resolved", {})
    monkeypatch.chdir(tmp_path)
    (tmp_path / "watcher.py").write_text(OTHER, encoding="utf-8")
    # The shared 1m file of the same days, written as another symbol, 300 bars long, traded;
    # the shared 5m XRP/ETH file looked at.
    base = load_candles(shared_data / "XRP_ETH-1m.feather").series.head(300)
    traded = write_candles(base, tmp_path / "ABC_ETH-1m.json")
    done = runner.invoke(
        app,
        [
            *("replay", "--data", str(traded), "--agent", "watcher.py:Watcher", "--no-chart"),
            *("--informative-data", str(shared_data / SHORT), "--trust-data"),
        ],
    )
    assert done.exit_code == 0, done.output
    first = load_candles(shared_data / SHORT).series.first_ts or 0
    lines = (tmp_path / "seen.jsonl").read_text().splitlines()
    seen = [(ts, bars) for ts, bars in map(json.loads, lines) if ts > first]  # not the probe's
    assert len(seen) >= 250
    for ts, bars in seen:
        # Exactly the hours closed by the decision: none forming, none missing.
        closed = (ts - first) // 3_600_000
        assert len(bars) == min(closed, 300), ts
        assert all(start + tf <= ts for start, tf, _ in bars)


READER = """
from decimal import Decimal

from rampart.agents.base import AgentBase
from rampart.domain.intents import Intent, IntentAction
from rampart.domain.orders import Side


class Reader(AgentBase):
    '''Buys when XRP/ETH's last closed 5-minute bar rose; needs it once real data runs.'''

    name = "reader"
    warmup = 0
    informative = (("XRP/ETH", "5m"),)

    def __init__(self):
        self.seen = 0

    def update(self, candle):
        self.seen += 1

    def decide(self, view):
        bars = view.series("XRP/ETH", "5m")
        if view.ts > 10**12 and self.seen > 30 and not bars:
            raise RuntimeError("the other symbol's bars did not arrive")
        if len(bars) < 2 or bars[-1].close <= bars[-2].close or view.position is not None:
            return []
        entry = view.candle.close_dec
        return [Intent(view.account_id, view.symbol, Side.BUY, IntentAction.OPEN, entry,
                       entry * Decimal("0.98"), entry * Decimal("1.04"), agent="reader",
                       ts=view.ts)]
"""


def test_the_checks_feed_another_symbols_file_into_the_sandbox(
    shared_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(plugins, "_resolved", {})
    monkeypatch.chdir(tmp_path)
    (tmp_path / "reader.py").write_text(READER, encoding="utf-8")
    base = load_candles(shared_data / "XRP_ETH-1m.feather").series.head(300)
    traded = str(write_candles(base, tmp_path / "ABC_ETH-1m.json"))
    other = ("--informative-data", str(shared_data / SHORT))
    look = runner.invoke(
        app, ["check-lookahead", "reader.py:Reader", "--data", traded, "--signals", "8", *other]
    )
    assert look.exit_code == 0 and "No lookahead" in look.output, look.output
    # The warm-up check covers the other series: waiting no bar is too short for an agent
    # comparing two of its 5-minute bars on 1-minute candles; bars_for counts what is enough.
    warm = runner.invoke(
        app, ["check-warmup", "reader.py:Reader", "--data", traded, "--targets", "6", *other]
    )
    assert warm.exit_code == 1 and "had not settled" in warm.output, warm.output
    source = (tmp_path / "reader.py").read_text(encoding="utf-8")
    waits = source.replace("warmup = 0", 'warmup = bars_for(2, "5m", "1m")')
    waits = "from rampart.agents.informative import bars_for\n" + waits
    (tmp_path / "waits.py").write_text(waits, encoding="utf-8")
    warm = runner.invoke(
        app, ["check-warmup", "waits.py:Reader", "--data", traded, "--targets", "6", *other]
    )
    assert warm.exit_code == 0 and "passed" in warm.output, warm.output
    # Without the file the bars never arrive: the agent raises, and the check says so.
    alone = runner.invoke(app, ["check-lookahead", "reader.py:Reader", "--data", traded])
    assert alone.exit_code != 0 and "did not arrive" in alone.output, alone.output

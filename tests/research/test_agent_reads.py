"""The lookahead check sees what an agent reads besides the engine's view.

The planted agents are files written into the test's folder, as an operator's would be: a copy
of the trend agent that reads the next close from the data file (its truncation comparison
passes: it never looks at the candles it is handed), one that reads the wall clock, one that
asks the network. Each fails ``check-lookahead`` with exit status 1 and the file and line that
read; the built-in agents pass both checks with their defaults.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import urllib.request
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from typer.testing import CliRunner

from rampart.agents import registry
from rampart.agents.base import AgentConstraints
from rampart.agents.registry import AGENT_NAMES, make_agent
from rampart.cli.main import app
from rampart.domain.candles import Candle
from rampart.domain.instruments import Instrument
from rampart.market.loaders import load_candles
from rampart.research.audit import Watch, agent_code, watching
from rampart.research.lookahead import check_lookahead
from rampart.research.signals import AgentFactory, Driver
from tests.research.helpers import SHORT

runner = CliRunner()
CONSTRAINTS = AgentConstraints(Decimal("0.01"), Decimal("0.05"), Decimal("1.2"))

LEAK = '''
import pandas as pd

from rampart.agents.trend import TrendAgent

DATA = {data!r}
NEXT = {{}}


class LeakyTrend(TrendAgent):
    """The trend agent, but it only buys when the next close (read from the file) is higher."""

    name = "leaky"

    def _decide(self, view):
        if not NEXT:
            frame = pd.read_feather(DATA)  # the line the check must name
            opens = frame["date"].astype("int64") // 10**6
            NEXT.update(zip(opens.iloc[:-1], frame["close"].iloc[1:], strict=True))
        upcoming = NEXT.get(view.candle.ts)
        if upcoming is not None and upcoming > view.candle.close:
            return self.open_long(view, view.candle.close * 0.02, 1.0, self.target_rr, 0.9, "up")
        return super()._decide(view)
'''

CLOCK = '''
from datetime import datetime, timezone

from rampart.agents.trend import TrendAgent


class ClockTrend(TrendAgent):
    """The trend agent, but quiet on weekends by the wall clock: a replay cannot repeat it."""

    name = "clocky"

    def _decide(self, view):
        if datetime.now(timezone.utc).weekday() >= 7:  # never true, still a read of the clock
            return []
        return super()._decide(view)
'''

HASTY = '''
from rampart.agents.trend import TrendAgent


class HastyTrend(TrendAgent):
    """The trend agent deciding after 27 bars, before its EMAs have settled."""

    name = "hasty"

    def __init__(self, **params):
        super().__init__(**params)
        self.warmup = 27
'''


def load(tmp_path: Path, name: str, source: str) -> ModuleType:
    """The file as an operator's agent module (imported by path, in no package)."""
    path = tmp_path / f"{name}.py"
    path.write_text(source, encoding="utf-8")
    spec = importlib.util.spec_from_file_location(f"operator_{name}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def candles(shared_data: Path) -> list[Candle]:
    return list(load_candles(shared_data / SHORT).series.iter_candles())


def driver(candles: Sequence[Candle], factory: AgentFactory) -> Driver:
    price = sum(c.close for c in candles) / len(candles)
    return Driver(factory, candles, Instrument.for_price(candles[0].symbol, price), CONSTRAINTS)


def test_the_planted_file_reading_leak_is_caught_at_its_line(
    candles: list[Candle], shared_data: Path, tmp_path: Path
) -> None:
    leak = load(tmp_path, "leak", LEAK.format(data=str(shared_data / SHORT))).LeakyTrend
    report = asyncio.run(
        check_lookahead(driver(candles, lambda _v: leak()), agent="leaky", signals_max=20)
    )
    # Its decisions on cut data equal those on the whole file: only the reads give it away.
    assert not report.changes and report.signals > 0
    assert not report.ok
    reads = [a for a in report.accesses if a.kind == "file"]
    assert reads and all(a.file == str(tmp_path / "leak.py") for a in reads)
    line = 1 + LEAK.splitlines().index(
        "            frame = pd.read_feather(DATA)  # the line the check must name"
    )
    assert {a.line for a in reads} == {line}
    assert any(str(shared_data / SHORT) in a.target for a in reads)
    assert report.sentence().startswith("Lookahead: the agent read")
    assert f"leak.py:{line} opened {shared_data / SHORT}" in reads[0].describe()


def test_a_wall_clock_reading_agent_is_caught(candles: list[Candle], tmp_path: Path) -> None:
    clocky = load(tmp_path, "clocky", CLOCK).ClockTrend
    report = asyncio.run(
        check_lookahead(driver(candles, lambda _v: clocky()), agent="clocky", signals_max=5)
    )
    assert not report.ok and not report.changes
    assert [(a.kind, a.target) for a in report.accesses] == [("clock", "datetime.now")]


def test_a_network_call_from_the_agent_is_caught(candles: list[Candle], tmp_path: Path) -> None:
    class Asking(make_agent("trend").__class__):  # type: ignore[misc]
        def _decide(self, view: Any) -> Any:
            with contextlib.suppress(OSError):
                urllib.request.urlopen("http://127.0.0.1:9/next-close", timeout=0.01)
            return super()._decide(view)

    report = asyncio.run(
        check_lookahead(driver(candles[:200], lambda _v: Asking()), agent="asking", signals_max=2)
    )
    assert not report.ok
    assert {a.kind for a in report.accesses} == {"network"}
    assert any("127.0.0.1" in a.target for a in report.accesses)


def test_what_the_engine_does_and_imports_are_not_the_agents(tmp_path: Path) -> None:
    source = tmp_path / "imports.py"
    source.write_text("def run(path):\n    import colorsys\n    return open(path).read()\n")
    spec = importlib.util.spec_from_file_location("operator_imports", source)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    data = tmp_path / "data.txt"
    data.write_text("x")
    watch = Watch({str(source)})
    data.read_text()  # outside the watch: nothing is recorded
    with watching(watch):
        data.read_text()  # inside, but not from the agent's code
        assert module.run(data) == "x"  # the import is skipped, the open is not
    module.run(data)  # after the watch: nothing
    assert [(a.kind, a.line, a.count) for a in watch.accesses()] == [("file", 3, 1)]


def test_the_agents_code_is_its_class_and_bases(tmp_path: Path) -> None:
    clocky = load(tmp_path, "clocky_code", CLOCK).ClockTrend
    files = agent_code(clocky())
    assert str(tmp_path / "clocky_code.py") in files
    assert any(f.endswith("agents/trend.py") for f in files)


@pytest.fixture
def operator_agents(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, shared_data: Path) -> None:
    """The planted files registered as agents, so the commands can name them."""
    for name, source, cls in (
        ("leaky", LEAK.format(data=str(shared_data / SHORT)), "LeakyTrend"),
        ("clocky", CLOCK, "ClockTrend"),
        ("hasty", HASTY, "HastyTrend"),
    ):
        monkeypatch.setitem(registry._AGENTS, name, getattr(load(tmp_path, name, source), cls))


@pytest.mark.usefixtures("operator_agents")
@pytest.mark.parametrize("name", ["leaky", "clocky"])
def test_check_lookahead_fails_the_planted_agents_with_status_1(
    shared_data: Path, tmp_path: Path, name: str
) -> None:
    done = runner.invoke(
        app, ["check-lookahead", name, "--data", str(shared_data / SHORT), "--signals", "10"]
    )
    assert done.exit_code == 1, done.output
    last = done.output.strip().splitlines()[-1]
    assert last.startswith(f"check-lookahead {name}: FAILED. Lookahead: the agent read")
    assert f"{tmp_path / name}.py:" in done.output


@pytest.mark.usefixtures("operator_agents")
def test_check_warmup_fails_a_short_warmup_with_status_1(shared_data: Path) -> None:
    done = runner.invoke(
        app, ["check-warmup", "hasty", "--data", str(shared_data / SHORT), "--targets", "12"]
    )
    assert done.exit_code == 1, done.output
    last = done.output.strip().splitlines()[-1]
    assert last.startswith("check-warmup hasty: FAILED. hasty's signals match")
    assert "but it starts deciding after 27" in last


@pytest.mark.parametrize("name", AGENT_NAMES)
def test_the_built_in_agents_pass_both_checks(shared_data: Path, name: str) -> None:
    data = str(shared_data / SHORT)
    ahead = runner.invoke(app, ["check-lookahead", name, "--data", data, "--signals", "20"])
    assert ahead.exit_code == 0, ahead.output
    assert ahead.output.strip().splitlines()[-1].startswith(f"check-lookahead {name}: passed.")
    warm = runner.invoke(app, ["check-warmup", name, "--data", data, "--targets", "12"])
    assert warm.exit_code == 0, warm.output
    assert warm.output.strip().splitlines()[-1].startswith(f"check-warmup {name}: passed.")

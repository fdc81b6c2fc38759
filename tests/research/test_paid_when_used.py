"""A feature costs a candle nothing unless the run uses it. The agent's plotted lines: a
research trial never reads them, a replay reads them only on the candles of its curve's points
(its ``indicators.csv`` and chart), with the same values as when they were read on every
candle, and the service (the panel's chart) on every candle. Informative series: only an agent
declaring them has any fed or shown."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import pytest

from rampart.agents.informative import SeriesBook
from rampart.config import load_settings
from rampart.research.trial import Span
from rampart.trading.agent_plots import AgentPlots
from rampart.wiring import replay as replay_module
from rampart.wiring.replay import run_replay
from tests.research.helpers import SHORT, engine_search
from tests.research.test_trial_is_a_replay import _spiked

PARAMS = {"fast": 5, "slow": 13}


def _counted(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Every ``AgentPlots.record`` call's candle time, in order."""
    seen: list[int] = []
    real: Callable[[AgentPlots, str, int], None] = AgentPlots.record

    def record(self: AgentPlots, symbol: str, ts: int) -> None:
        seen.append(ts)
        real(self, symbol, ts)

    monkeypatch.setattr(AgentPlots, "record", record)
    return seen


def test_a_trial_never_reads_the_plotted_lines(
    shared_data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen = _counted(monkeypatch)
    _, backtest, closes = engine_search(shared_data / SHORT, load_settings(None))
    result = backtest(PARAMS, Span(0, 50, len(closes)))
    assert result.candles == len(closes) - 50 and result.trades > 0
    assert seen == []


def _replay(data: Path, out: Path) -> int:
    result = asyncio.run(
        run_replay(
            data, "trend", "moderate", Decimal(1), load_settings(None), out,
            f"sqlite:///{out}.db", params=PARAMS, chart=False,
        )
    )  # fmt: skip
    return result.candles


@pytest.mark.parametrize("spike", [False, True], ids=["clean", "spiked"])
def test_a_replay_reads_them_on_its_curve_points_only_and_writes_the_same_csv(
    shared_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, spike: bool
) -> None:
    """With 50 curve points in a 706-candle file, the lines are read on about 50 candles;
    read on every candle (the service's way) the file is the same byte for byte. The spiked
    file's held candle is one the guard answers later: the point on it reads the lines then."""
    data = _spiked(shared_data, tmp_path / "data") if spike else shared_data / SHORT
    monkeypatch.setattr(replay_module, "MAX_CURVE_POINTS", 50)
    seen = _counted(monkeypatch)
    candles = _replay(data, tmp_path / "asked")
    asked = (tmp_path / "asked" / "indicators.csv").read_bytes()
    points = len(asked.splitlines()) - 1
    assert 0 < len(seen) <= points < candles // 5
    seen.clear()
    monkeypatch.setattr(AgentPlots, "only_when_asked", lambda self: None)  # every candle
    _replay(data, tmp_path / "every")
    assert len(seen) >= candles - 5  # every candle the guard let through
    assert (tmp_path / "every" / "indicators.csv").read_bytes() == asked


def test_the_service_reads_them_on_every_candle_for_the_panel() -> None:
    """Unless told otherwise (a replay, a trial), every candle's readings are kept."""

    class Agent:
        name, plot, fast = "a", ("fast",), 1.0

    plots = AgentPlots(keep=10)
    agent = Agent()
    plots.add("BTC/USDT", agent)
    assert plots.wanted
    asked = AgentPlots(keep=10)
    asked.only_when_asked()
    asked.add("BTC/USDT", agent)
    assert not asked.wanted
    asked.ask()
    assert asked.wanted
    asked.record("BTC/USDT", 60_000)
    agent.fast = 2.0
    assert asked.taken("BTC/USDT", 60_000) == (1.0,)  # as read after the candle
    assert not asked.wanted
    asked.ask()  # a point on which the guard let no candle through: read then
    assert asked.taken("BTC/USDT", 120_000) == (2.0,)


def test_no_series_is_fed_or_shown_to_an_agent_declaring_none(
    shared_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The trend agent reads no other series: neither a trial nor a replay feeds a bar to the
    series book or builds a view of it (an agent declaring some is fed, as
    tests/agents/test_informative_optimize.py shows)."""
    used: list[str] = []
    for name in ("feed", "view", "closed"):
        real = getattr(SeriesBook, name)

        def spy(self: SeriesBook, *args: object, _real: object = real, _n: str = name) -> object:
            used.append(_n)
            return _real(self, *args)  # type: ignore[operator]

        monkeypatch.setattr(SeriesBook, name, spy)
    _, backtest, closes = engine_search(shared_data / SHORT, load_settings(None))
    assert backtest(PARAMS, Span(0, 50, len(closes))).trades > 0
    assert _replay(shared_data / SHORT, tmp_path / "replay") > 0
    assert used == []

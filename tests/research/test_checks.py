"""``check-lookahead`` and ``check-warmup``: every built-in agent kind (rule agents, the ML
agent on a model and its real feature stream, the LLM agent against the local stand-in) passes
the lookahead check on a real file, a planted lookahead is caught, and the warm-up check finds
how long each agent's indicators take to settle."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from rampart.agents.base import AgentConstraints, AgentView, RuleAgent
from rampart.agents.registry import AGENT_NAMES, make_agent
from rampart.agents.space import SIZE_HINT, ParamSpace
from rampart.agents.trend import TrendAgent
from rampart.cli.main import app
from rampart.clock import SimClock
from rampart.domain.candles import Candle
from rampart.domain.instruments import Instrument
from rampart.domain.intents import Intent
from rampart.llm.standin import LlmStandIn
from rampart.market.loaders import load_candles
from rampart.ml.features import WARMUP, FeatureState
from rampart.research.lookahead import check_lookahead
from rampart.research.signals import AgentFactory, Driver
from rampart.research.warmup import WarmupReport, WarmupRow, check_warmup
from tests.llm.helpers import decider
from tests.research.helpers import SHORT, PeekAgent

CONSTRAINTS = AgentConstraints(Decimal("0.01"), Decimal("0.05"), Decimal("1.2"))
runner = CliRunner()


@pytest.fixture
def candles(shared_data: Path) -> list[Candle]:
    return list(load_candles(shared_data / SHORT).series.iter_candles())


def driver(candles: Sequence[Candle], factory: AgentFactory) -> Driver:
    price = sum(c.close for c in candles) / len(candles)
    return Driver(factory, candles, Instrument.for_price(candles[0].symbol, price), CONSTRAINTS)


@pytest.mark.parametrize("name", AGENT_NAMES)
def test_the_rule_agents_have_no_lookahead(candles: list[Candle], name: str) -> None:
    report = asyncio.run(
        check_lookahead(driver(candles, lambda _v: make_agent(name)), agent=name, signals_max=40)
    )
    assert report.signals > 0, "the file gives the agent something to say"
    assert report.ok, [c.describe() for c in report.changes]
    assert report.sentence().startswith("No lookahead:")


class Model:
    version = "stub-1"

    def predict_one(self, row: Sequence[float]) -> float:
        return 1 / (1 + math.exp(-40 * sum(row[:3])))


class Models:
    """A model source as the registry serves one: the real feature stream, a fixed model."""

    warmup = WARMUP + 1

    def current(self) -> Model:
        return Model()

    def new_features(self) -> FeatureState:
        return FeatureState()


def test_the_ml_agent_has_no_lookahead(candles: list[Candle]) -> None:
    models = Models()
    report = asyncio.run(
        check_lookahead(
            driver(candles, lambda _v: make_agent("ml", models=models)), agent="ml", signals_max=30
        )
    )
    assert report.signals > 0 and report.ok, [c.describe() for c in report.changes]


def test_the_llm_agent_against_the_stand_in_has_no_lookahead(candles: list[Candle]) -> None:
    async def run() -> Any:
        async with LlmStandIn() as standin:
            model = decider(standin.url, SimClock(0))
            d = driver(candles, lambda _v: make_agent("llm", llm=model, fallback="trend"))
            report = await check_lookahead(d, agent="llm", limit=40, signals_max=10, quiet=5)
            return report, standin.calls

    report, calls = asyncio.run(run())
    assert calls > 0, "the decisions came from the stand-in"
    assert report.signals > 0 and report.ok, [c.describe() for c in report.changes]


def test_a_planted_lookahead_is_caught(candles: list[Candle]) -> None:
    report = asyncio.run(check_lookahead(driver(candles, PeekAgent), agent="peek", signals_max=0))
    assert not report.ok
    assert len(report.changes) == report.signals > 10  # every one of its signals peeked
    for change in report.changes:
        assert change.full.flat and not change.truncated.flat
        assert "cut at that candle it proposed nothing" in change.describe()
    assert report.sentence().startswith("Lookahead:")


def test_check_lookahead_command_passes_a_built_in_agent(shared_data: Path, tmp_path: Path) -> None:
    done = runner.invoke(
        app, ["check-lookahead", "breakout", "--data", str(shared_data / SHORT), "--signals", "20"]
    )
    assert done.exit_code == 0, done.output
    assert "No lookahead" in done.output
    bad = runner.invoke(
        app, ["check-lookahead", "trend", "--data", str(shared_data / SHORT), "--param", "fast=99"]
    )
    assert bad.exit_code == 2 and "must be a whole number from 2 to 50" in bad.output


class WindowAgent(RuleAgent):
    """Buys a close above the mean of the last five: exact once it has five bars."""

    name = "window"
    description = "test"
    space = ParamSpace((SIZE_HINT,))

    def __init__(self, *, size_hint: Any = Decimal(1)) -> None:
        super().__init__(size_hint)
        self.warmup = 5
        self._closes: list[float] = []

    def _advance(self, candle: Candle) -> None:
        self._closes = [*self._closes[-4:], candle.close]

    def _decide(self, view: AgentView) -> list[Intent]:
        if self.holding(view) or view.candle.close <= sum(self._closes) / 5:
            return []
        return self.open_long(view, view.candle.close * 0.02, 1.0, Decimal(2), 0.7, "above")


def test_warmup_of_an_exact_window_is_its_declared_warmup(candles: list[Candle]) -> None:
    report = asyncio.run(check_warmup(driver(candles, lambda _v: WindowAgent()), agent="window"))
    assert report.declared == 5 and report.signals > 0
    assert report.stable_from == 5
    assert all(r.matched == r.targets for r in report.rows)
    assert "within the 5 bars it waits" in report.sentence()


@pytest.mark.parametrize("name", AGENT_NAMES)
def test_every_rule_agent_waits_until_its_indicators_settle(
    candles: list[Candle], name: str
) -> None:
    """The warm-up is derived from the parameters (EMAs and Wilder averages forgetting their
    seeds): with its defaults each rule agent passes its own check. Before, the trend agent
    waited 27 bars and needed 135."""
    report = asyncio.run(check_warmup(driver(candles, lambda _v: make_agent(name)), agent=name))
    first = report.rows[0]
    assert first.history == report.declared and first.matched == first.targets > 0
    assert report.ok and report.stable_from == report.declared, report.rows
    assert f"within the {report.declared} bars it waits" in report.sentence()


def test_an_agent_that_waits_too_little_fails_its_warmup_check(candles: list[Candle]) -> None:
    class Hasty(TrendAgent):
        def __init__(self) -> None:
            super().__init__()
            self.warmup = 27  # what the trend agent waited before its warm-up was derived

    report = asyncio.run(check_warmup(driver(candles, lambda _v: Hasty()), agent="hasty"))
    assert report.declared == 27 and not report.ok
    assert report.stable_from is not None and report.stable_from > 27
    assert f"only from {report.stable_from} bars" in report.sentence()


def test_warmup_sentences() -> None:
    never = WarmupReport("x", 10, (WarmupRow(10, 3, 5), WarmupRow(20, 4, 5)), 3)
    assert never.stable_from is None and "had not settled with 20 bars" in never.sentence()
    late = WarmupReport("x", 10, (WarmupRow(10, 3, 5), WarmupRow(20, 5, 5), WarmupRow(30, 5, 5)), 3)
    assert late.stable_from == 20
    flaky = WarmupReport(
        "x", 10, (WarmupRow(10, 5, 5), WarmupRow(20, 4, 5), WarmupRow(30, 5, 5)), 3
    )
    assert flaky.stable_from == 30  # settled means every longer history matches too


def test_check_warmup_command(shared_data: Path) -> None:
    done = runner.invoke(
        app,
        ["check-warmup", "mean_reversion", "--data", str(shared_data / SHORT), "--targets", "12"],
    )
    assert done.exit_code == 0, done.output
    assert "bars of history" in done.output and "mean_reversion's signals" in done.output
    assert "check-warmup mean_reversion: passed." in done.output

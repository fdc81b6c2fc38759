"""The agent contract: state from candles only, decide is pure, restarts rebuild, it is cheap."""

from __future__ import annotations

import pickle
from collections.abc import Iterator, Sequence
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import overload

import pytest

from rampart.agents.base import Agent, AgentView
from rampart.agents.registry import AGENT_NAMES, make_agent
from rampart.domain.candles import Candle
from rampart.domain.intents import Intent

from .realdata import PROFILES, Series, holding, load

FILE = "ETH_BTC-5m.feather"


@pytest.fixture
def series(shared_data: Path) -> Series:
    if not (shared_data / FILE).exists():
        pytest.skip(f"{FILE} is not in the shared data")
    return load(shared_data, FILE)


class Untouchable(Sequence[Candle]):
    """A history that fails the test if an agent reads or copies it."""

    def __len__(self) -> int:
        raise AssertionError("the agent read the history")

    @overload
    def __getitem__(self, i: int) -> Candle: ...
    @overload
    def __getitem__(self, i: slice) -> Sequence[Candle]: ...
    def __getitem__(self, i: int | slice) -> Candle | Sequence[Candle]:
        raise AssertionError("the agent read the history")

    def __iter__(self) -> Iterator[Candle]:
        raise AssertionError("the agent iterated the history")


def views(series: Series, candle: Candle) -> list[AgentView]:
    base = AgentView(
        account_id="a",
        symbol=series.symbol,
        candle=candle,
        history=Untouchable(),
        instrument=series.instrument,
        equity=Decimal(1000),
        cash=Decimal(1000),
        position=None,
        constraints=PROFILES["moderate"],
        ts=candle.close_ts,
    )
    return [base, replace(base, account_id="b", position=holding(series.symbol))]


def decisions(agent: Agent, series: Series, candles: Sequence[Candle]) -> list[list[Intent]]:
    out = []
    for candle in candles:
        agent.update(candle)
        out.extend(agent.decide(v) for v in views(series, candle))
    return out


@pytest.mark.parametrize("name", AGENT_NAMES)
def test_agents_satisfy_the_protocol(name: str) -> None:
    agent = make_agent(name)
    assert isinstance(agent, Agent)
    assert agent.name == name and agent.warmup > 1


@pytest.mark.parametrize("name", AGENT_NAMES)
def test_decide_changes_nothing_and_repeats_itself(series: Series, name: str) -> None:
    agent = make_agent(name)
    seen = 0
    for candle in series.candles:
        agent.update(candle)
        before = pickle.dumps(agent)
        for view in views(series, candle):
            first = agent.decide(view)
            assert agent.decide(view) == first
            seen += len(first)
        assert pickle.dumps(agent) == before
    assert seen > 0


@pytest.mark.parametrize("name", AGENT_NAMES)
def test_same_candles_same_intents(series: Series, name: str) -> None:
    a, b = make_agent(name), make_agent(name)
    ours = decisions(a, series, series.candles)
    assert ours == decisions(b, series, series.candles)
    assert any(ours)


@pytest.mark.parametrize("name", AGENT_NAMES)
def test_a_restart_rebuilds_the_agent_from_candles(series: Series, name: str) -> None:
    """Re-feeding after a restart may overlap what was fed: repeated bars change nothing."""
    candles = series.candles
    whole = make_agent(name)
    expected = decisions(whole, series, candles)
    resumed = make_agent(name)
    cut = len(candles) // 2
    head = decisions(resumed, series, candles[:cut])
    for candle in candles[cut - 50 : cut]:  # the overlap a restart replays
        resumed.update(candle)
    assert pickle.dumps(resumed) == pickle.dumps(make_state(name, candles[:cut]))
    assert head + decisions(resumed, series, candles[cut:]) == expected


def make_state(name: str, candles: Sequence[Candle]) -> Agent:
    agent = make_agent(name)
    for candle in candles:
        agent.update(candle)
    return agent


@pytest.mark.parametrize("name", AGENT_NAMES)
def test_nothing_is_proposed_while_warming_up(series: Series, name: str) -> None:
    agent = make_agent(name)
    for candle in series.candles[: agent.warmup - 1]:
        agent.update(candle)
        assert all(agent.decide(v) == [] for v in views(series, candle))


@pytest.mark.parametrize("name", AGENT_NAMES)
def test_a_bar_the_agent_never_saw_gets_no_decision(series: Series, name: str) -> None:
    agent = make_agent(name)
    for candle in series.candles[:-1]:
        agent.update(candle)
    unseen = series.candles[-1]
    assert all(agent.decide(v) == [] for v in views(series, unseen))


@pytest.mark.parametrize("name", AGENT_NAMES)
def test_one_agent_follows_one_symbol(series: Series, name: str) -> None:
    agent = make_agent(name)
    agent.update(series.candles[0])
    before = pickle.dumps(agent)
    with pytest.raises(ValueError, match="follows ETH/BTC"):
        agent.update(replace(series.candles[1], symbol="LTC/BTC"))
    assert pickle.dumps(agent) == before


@pytest.mark.parametrize("name", AGENT_NAMES)
def test_a_quiet_agent_has_nothing_to_say_to_any_account(series: Series, name: str) -> None:
    """``quiet`` lets the engine skip building a view per account: it must never hide an
    intent, for a flat account or one holding the position; and the rule agents are quiet on
    most bars (that is what it is for)."""
    agent = make_agent(name)
    quiet = spoken = 0
    for candle in series.candles:
        agent.update(candle)
        said = [agent.decide(v) for v in views(series, candle)]
        if agent.quiet:
            quiet += 1
            assert said == [[], []], f"{name} was quiet at {candle.ts} but proposed {said}"
        spoken += any(said)
    assert spoken > 0
    if name in {"trend", "breakout", "mean_reversion"}:
        assert quiet > len(series.candles) // 2


@pytest.mark.parametrize("name", AGENT_NAMES)
def test_a_repeated_bar_is_judged_on_its_own_prices(series: Series, name: str) -> None:
    """A feed may send the last bar again, revised: ``quiet`` then speaks for that bar's
    prices, which ``decide`` reads, for every revision of the close."""
    agent = make_agent(name)
    candles = iter(series.candles)
    for candle in candles:
        agent.update(candle)
        if agent.bars > agent.warmup + 10 and agent.quiet:
            break  # a bar the agent had nothing to say about, as first printed
    spoken = 0
    for factor in (0.5, 0.9, 1.0, 1.1, 2.0):
        revised = replace(candle, close=candle.close * factor, high=candle.high * max(1, factor))
        agent.update(revised)
        said = [agent.decide(v) for v in views(series, revised)]
        if agent.quiet:
            assert said == [[], []], f"quiet on a revised close x{factor} but proposed {said}"
        spoken += any(said)
    if name == "breakout":
        assert spoken  # a close far above the channel is a break, revised or not

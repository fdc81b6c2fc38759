"""The llm agent: caching on a replay, fallback when the budget is spent, through the engine."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path

import pytest

from rampart.agents.llm import LlmAgent
from rampart.agents.registry import make_agent
from rampart.agents.trend import TrendAgent
from rampart.clock import SimClock
from rampart.domain.accounts import AccountSpec
from rampart.domain.candles import Candle
from rampart.domain.errors import ConfigError
from rampart.domain.instruments import DEFAULT_INSTRUMENTS
from rampart.llm.standin import LlmStandIn, hold_reply
from rampart.risk.profiles import get_profile
from rampart.store.db import open_database
from rampart.store.llm_calls import llm_cost
from rampart.trading.bus import EventBus
from rampart.trading.engine import Engine
from rampart.venues.paper import PaperVenue

from .helpers import SYMBOL, candles, decider, view

START = 1_700_000_000_000


async def _replay(agent: LlmAgent, bars: list[Candle]) -> list[int]:
    """Feed every bar and ask on each; the number of intents per bar."""
    out = []
    for i, bar in enumerate(bars, 1):
        agent.update(bar)
        out.append(len(await agent.decide_async(view(bars[:i]))))
    return out


def test_caching_halves_the_calls_on_a_repeated_replay(tmp_path: Path) -> None:
    db = open_database(f"sqlite:///{tmp_path / 'r.db'}")

    async def scenario() -> tuple[list[int], list[int], int, int]:
        async with LlmStandIn(reply=hold_reply) as standin:
            d = decider(standin.url, SimClock(START), db=db)
            bars = candles(60)
            first = await _replay(make_agent("llm", None, llm=d), bars)  # type: ignore[arg-type]
            after_first = standin.calls
            second = await _replay(make_agent("llm", None, llm=d), bars)  # type: ignore[arg-type]
            await d.client.aclose()
            return first, second, after_first, standin.calls

    first, second, after_first, total = asyncio.run(scenario())
    assert after_first == 60 - 30 + 1  # one call per bar from the warm-up on
    assert total == after_first  # the replay is answered by the cache alone
    assert first == second
    cost = llm_cost(db, 0, 2**62)
    assert (cost.calls, cost.cache_hits) == (2 * after_first, after_first)
    assert cost.cost_usd > 0
    db.dispose()


def test_when_the_budget_is_spent_the_fallback_rule_agent_decides() -> None:
    async def scenario() -> tuple[list[list[object]], list[list[object]], int]:
        async with LlmStandIn(reply=hold_reply) as standin:
            d = decider(standin.url, SimClock(START), daily_usd="0")
            agent = make_agent("llm", {"fallback": "trend"}, llm=d)
            reference = TrendAgent()
            bars = candles(300)
            got, want = [], []
            for i, bar in enumerate(bars, 1):
                agent.update(bar)
                reference.update(bar)
                got.append(await agent.decide_async(view(bars[:i])))  # type: ignore[attr-defined]
                want.append(reference.decide(view(bars[:i])))
            await d.client.aclose()
            return got, want, standin.calls

    got, want, calls = asyncio.run(scenario())
    assert calls == 0
    assert got == want
    assert any(want), "the reference trend agent should trade at least once on these bars"


def test_without_a_model_the_agent_is_its_fallback_and_bad_params_are_refused() -> None:
    agent = make_agent("llm", {"fallback": "breakout", "bars": "12"})
    assert isinstance(agent, LlmAgent)
    assert (agent.fallback.name, agent.bars) == ("breakout", 12)
    with pytest.raises(ConfigError, match="must be a rule agent"):
        make_agent("llm", {"fallback": "llm"})
    with pytest.raises(ConfigError, match="has no parameter 'temperature'"):
        make_agent("llm", {"temperature": 1})


def test_the_engine_sends_llm_entries_through_the_risk_engine() -> None:
    async def scenario() -> tuple[Engine, int]:
        async with LlmStandIn() as standin:
            clock = SimClock(START)
            d = decider(standin.url, clock)
            venue = PaperVenue({SYMBOL: DEFAULT_INSTRUMENTS[SYMBOL]}, clock=clock)
            engine = Engine(
                venue=venue,
                clock=clock,
                bus=EventBus(),
                make_agent=lambda name, params: make_agent(name, params, llm=d),
                profile_for=get_profile,
                taker_fee=Decimal("0.001"),
            )
            spec = AccountSpec("alice", "llm", "moderate", Decimal(10_000), (SYMBOL,))
            await engine.add_account(spec)
            for bar in candles(40):
                clock.set(max(bar.close_ts, clock.now_ms()))
                await engine.on_candle(bar)
            await d.client.aclose()
            return engine, standin.calls

    engine, calls = asyncio.run(scenario())
    position = engine.accounts["alice"].ledger.positions.get(SYMBOL)
    assert position is not None and position.qty > 0
    assert position.strategy == "llm"
    assert 0 < position.stop_loss < position.avg_price < position.take_profit
    assert calls >= 1

"""``Engine.on_candle``, one path for every candle: a quiet candle asks no agent and still runs
the invariants; an agent that is not quiet is asked; a stop crossed on a quiet candle is sent.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest

from rampart.agents.base import AgentView
from rampart.domain.errors import DataError
from rampart.domain.events import EquitySnapshot, Event
from rampart.domain.intents import Intent

from .held import held
from .helpers import SYMBOL, ScriptedAgent, build, candle

D = Decimal
HOUR_MIN = 60  # candles are one minute apart


def _never(i: int, view: AgentView) -> list[Intent]:
    raise AssertionError("a quiet agent was asked")


def test_a_quiet_candle_asks_no_agent_and_its_invariants_still_run() -> None:
    async def scenario() -> list[Event]:
        agent = ScriptedAgent(_never)
        agent.quiet = True
        engine, _venue, clock, bus = await build(agent)
        events: list[Event] = []
        bus.subscribe(events.append)
        for i in range(HOUR_MIN + 1):
            c = candle(i, 100, 101, 99, 100)
            clock.set(c.close_ts)
            await engine.on_candle(c)
        return events

    events = asyncio.run(scenario())
    # The hourly equity point is published from the invariants' pass: it ran on quiet candles.
    snapshots = [e for e in events if isinstance(e, EquitySnapshot)]
    assert [s.equity for s in snapshots] == [D(10_000), D(10_000)]


def test_an_agent_that_is_not_quiet_is_asked_on_every_candle() -> None:
    async def scenario() -> list[int]:
        asked: list[int] = []
        agent = ScriptedAgent(lambda i, view: asked.append(i) or [])
        engine, _venue, clock, _bus = await build(agent)
        for i in range(3):
            c = candle(i, 100, 101, 99, 100)
            clock.set(c.close_ts)
            await engine.on_candle(c)
        return asked

    assert asyncio.run(scenario()) == [0, 1, 2]


def test_a_stop_crossed_on_a_quiet_candle_is_sent() -> None:
    async def scenario() -> bool:
        engine, _venue = await held("10")
        agent = engine._subs[SYMBOL][0].agent
        agent.quiet = True
        acct = engine.accounts["a1"]
        c = candle(1, 99, 99, 96, 97)  # the monitor holds the stop at 98
        engine.clock.set(c.close_ts)  # type: ignore[attr-defined]
        await engine.on_candle(c)
        return SYMBOL in acct.ledger.positions

    assert not asyncio.run(scenario())  # the exit went out and filled: the position is closed


def test_the_cyclic_collector_waits_for_the_end_of_the_candle_and_is_back_after_it() -> None:
    """A full collection inside a candle would delay every order after it; it must never be
    left off, not even when the candle fails."""
    import gc

    seen: list[bool] = []

    def script(i: int, view: AgentView) -> list[Intent]:
        seen.append(gc.isenabled())
        return []

    async def scenario() -> None:
        engine, _venue, clock, _bus = await build(ScriptedAgent(script))
        c = candle(0, 100, 101, 99, 100)
        clock.set(c.close_ts)
        await engine.on_candle(c)
        assert gc.isenabled()
        with pytest.raises(DataError):  # the venue refuses the same candle again
            await engine.on_candle(c)
        assert gc.isenabled()

    assert gc.isenabled()
    asyncio.run(scenario())
    assert seen == [False]
    assert gc.isenabled()

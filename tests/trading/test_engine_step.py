"""``Engine.step``: a candle that sends nothing ends without a coroutine (the replay's loop
calls it for every candle), and every candle that has something to send hands back the
coroutine that sends it, so nothing is skipped on the way.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal

from rampart.domain.events import EquitySnapshot, Event

from .held import held
from .helpers import SYMBOL, ScriptedAgent, build, candle

D = Decimal
HOUR_MIN = 60  # candles are one minute apart


def test_a_quiet_candle_on_a_flat_account_ends_in_step_and_its_invariants_still_run() -> None:
    async def scenario() -> tuple[list[object], list[Event]]:
        agent = ScriptedAgent(lambda i, view: [])
        agent.quiet = True  # type: ignore[attr-defined]
        engine, _venue, clock, bus = await build(agent)
        events: list[Event] = []
        bus.subscribe(events.append)
        answers = []
        for i in range(HOUR_MIN + 1):
            c = candle(i, 100, 101, 99, 100)
            clock.set(c.close_ts)
            answers.append(engine.step(c))
        return answers, events

    answers, events = asyncio.run(scenario())
    assert answers == [None] * (HOUR_MIN + 1)
    # The hourly equity point is published from the invariants' pass: it ran on the fast path.
    snapshots = [e for e in events if isinstance(e, EquitySnapshot)]
    assert [s.equity for s in snapshots] == [D(10_000), D(10_000)]


def test_an_agent_that_speaks_gets_the_coroutine_that_sends_its_order() -> None:
    async def scenario() -> tuple[bool, int]:
        agent = ScriptedAgent(lambda i, view: [])  # no ``quiet``: it is asked on every bar
        engine, _venue, clock, _bus = await build(agent)
        c = candle(0, 100, 101, 99, 100)
        clock.set(c.close_ts)
        rest = engine.step(c)
        if rest is not None:
            await rest
        return rest is not None, engine.candles_seen

    handed_back, seen = asyncio.run(scenario())
    assert handed_back and seen == 1


def test_a_stop_crossed_on_a_quiet_candle_is_sent_by_the_coroutine_step_hands_back() -> None:
    async def scenario() -> tuple[bool, bool]:
        engine, _venue = await held("10")
        agent = engine._subs[SYMBOL][0].agent
        agent.quiet = True  # type: ignore[attr-defined]
        acct = engine.accounts["a1"]
        c = candle(1, 99, 99, 96, 97)  # the monitor holds the stop at 98
        engine.clock.set(c.close_ts)  # type: ignore[attr-defined]
        rest = engine.step(c)
        sent = rest is not None
        if rest is not None:
            await rest
        return sent, SYMBOL in acct.ledger.positions

    sent, still_held = asyncio.run(scenario())
    assert sent
    assert not still_held  # the exit went out and filled: the position is closed

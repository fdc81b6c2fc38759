"""An investor's /pause then /resume lifts their pause, never a circuit breaker's halt.

A max-drawdown halt ends only when an operator resumes with ``lift_breakers``
(mutant KS2: ``if lift_breakers:`` made ``if True:`` let any resume clear it, and 296 tests
passed).
"""

from __future__ import annotations

import asyncio
from decimal import Decimal

from rampart.domain.accounts import TradingState
from rampart.domain.intents import Intent, IntentAction
from rampart.domain.orders import Side
from rampart.risk.breakers import MAX_DRAWDOWN, Trip
from rampart.trading.engine import Engine

from .helpers import SYMBOL, ScriptedAgent, build


def _halt_by_drawdown(engine: Engine, now: int) -> list[Trip]:
    acct = engine.accounts["a1"]
    # Moderate: 10 % below the peak halts until an operator resumes (the daily limit, 4 %,
    # trips on the way); 8,000 is 20 % below 10,000.
    trips = engine.breakers["a1"].on_equity(acct.breakers, Decimal(8000), now)
    assert acct.breakers.halted_by == MAX_DRAWDOWN
    return trips


def _entry() -> Intent:
    return Intent(
        "a1",
        SYMBOL,
        Side.BUY,
        IntentAction.OPEN,
        Decimal(100),
        Decimal(98),
        Decimal(106),
        agent="scripted",
    )


def test_a_resume_without_lift_leaves_the_drawdown_halt_in_place() -> None:
    async def scenario() -> tuple[TradingState, str, bool, TradingState]:
        engine, _venue, clock, _bus = await build(ScriptedAgent(lambda i, view: []))
        acct = engine.accounts["a1"]
        clock.set(60_000)
        await engine.apply_trips(acct, _halt_by_drawdown(engine, 60_000), 60_000)
        controls = engine.controls
        await controls.pause_account("a1", "investor-1", "taking a break")
        await controls.resume_account("a1", "investor-1", "back again")  # no lift_breakers
        state, halted_by = acct.state, acct.breakers.halted_by
        engine.marks[SYMBOL] = Decimal(100)
        engine.data_ts[SYMBOL] = 60_000
        approved = await engine.handle_intent(acct, _entry())
        await controls.resume_account("a1", "ops", "looked at it", lift_breakers=True)
        return state, halted_by, approved, acct.state

    state, halted_by, approved, after_lift = asyncio.run(scenario())
    assert (state, halted_by) == (TradingState.HALTED, MAX_DRAWDOWN)
    assert approved is False  # still halted: no entry
    assert after_lift is TradingState.ACTIVE  # only the operator's lift ends it

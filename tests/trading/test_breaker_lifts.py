"""Two edges of the breakers as the controls show and lift them.

- A checkpoint written before restrictions were kept, halted without naming the breaker, has
  nothing to show for it: the restrictions every front lists hold no empty entry.
- An operator who lifts a cooldown before the guard's next pass leaves the entries working:
  only a trip into a restricted state stops them (the guard cancels them on its next pass
  while the account is restricted).
"""

from __future__ import annotations

import asyncio
from decimal import Decimal

from rampart.domain.accounts import TradingState
from rampart.domain.events import AccountStateChanged, Event
from rampart.domain.orders import OrderRole
from rampart.risk.restrictions import COOLDOWN
from rampart.trading.engine import Engine

from .held import HeldVenue, elsewhere, held
from .helpers import SYMBOL, ScriptedAgent, build

D = Decimal


def test_an_old_checkpoints_halt_without_a_breaker_named_lists_no_empty_restriction() -> None:
    async def scenario() -> Engine:
        engine, _venue, _clock, _bus = await build(ScriptedAgent(lambda i, view: []))
        acct = engine.accounts["a1"]
        saved = acct.to_snapshot()
        breakers = saved["breakers"]
        del breakers["restriction"]  # not kept then
        breakers.update(state=TradingState.HALTED.value, halted_by="", reason="")
        acct.load_snapshot(saved)
        return engine

    engine = asyncio.run(scenario())
    acct = engine.accounts["a1"]
    assert acct.state is TradingState.HALTED
    assert engine.controls.restrictions(acct) == []


def test_an_operators_lift_of_a_cooldown_leaves_the_working_entries_alone() -> None:
    async def scenario() -> tuple[Engine, HeldVenue, TradingState]:
        venue = HeldVenue()
        engine, _ = await held("10", venue)
        acct = engine.accounts["a1"]
        elsewhere(acct, OrderRole.ENTRY)  # buying another symbol
        # Two losing trades before this one: the stop-out below is the third in a row.
        acct.breakers.consecutive_losses = acct.profile.consecutive_losses - 1
        (stop,) = venue.working(OrderRole.STOP_LOSS)
        venue.price = D(98)
        venue.fill(stop, D(10))
        await engine.executor.drain()
        cooling = acct.breakers.state
        assert acct.breakers.halted_by == COOLDOWN
        await engine.controls.resume_account("a1", "ops", "looked at it", lift_breakers=True)
        return engine, venue, cooling

    engine, venue, cooling = asyncio.run(scenario())
    acct = engine.accounts["a1"]
    assert SYMBOL not in acct.ledger.positions
    assert cooling is TradingState.REDUCING and acct.state is TradingState.ACTIVE
    assert "eth-entry" not in venue.cancels and "eth-entry" not in acct.pending_cancel
    assert acct.orders["eth-entry"].is_open


def test_a_state_change_names_its_cause() -> None:
    """The alerts page for a halt, not for a cooldown; the event says which."""

    async def scenario() -> list[AccountStateChanged]:
        venue = HeldVenue()
        engine, _ = await held("10", venue)
        seen: list[Event] = []
        engine.bus.subscribe(seen.append)
        acct = engine.accounts["a1"]
        acct.breakers.consecutive_losses = acct.profile.consecutive_losses - 1
        (stop,) = venue.working(OrderRole.STOP_LOSS)
        venue.price = D(98)
        venue.fill(stop, D(10))
        await engine.executor.drain()
        await engine.controls.resume_account("a1", "ops", "looked at it", lift_breakers=True)
        return [e for e in seen if isinstance(e, AccountStateChanged)]

    changes = asyncio.run(scenario())
    assert [(c.new, c.cause) for c in changes] == [
        (TradingState.REDUCING, COOLDOWN),
        (TradingState.ACTIVE, ""),
    ], changes

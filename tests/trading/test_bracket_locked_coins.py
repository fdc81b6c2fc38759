"""A bracket sized around coins a cancel has not released, and the invariant that sees a stop
too small for its position (mutants K1, K2 and K3 in ``trading/protection.py``).

The venue (:class:`~tests.trading.slow_venue.SlowVenue`) fills the entry when the test says
so. A stop-loss whose cancel the venue never confirms keeps its coins locked there until its
report arrives:

- K1: no new pair is placed while those coins may still be sold by the old stop (not
  even one for the coins it left free; the venue's report of the stop comes first);
- K2: a position no pair covers in full is guarded by the position monitor;
- K3: a resting stop covers the position only when it is as large as what can be sold: the
  engine's "no position without a live stop-loss" check counts a smaller one as no stop.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal

from rampart.clock import SimClock
from rampart.domain.accounts import AccountSpec
from rampart.domain.errors import OutcomeUnknown
from rampart.domain.orders import Order, OrderRole, OrderStatus
from rampart.risk.profiles import get_profile
from rampart.trading.bracket import BracketState
from rampart.trading.bus import EventBus
from rampart.trading.engine import Engine
from rampart.trading.protection import PROTECTIVE

from .helpers import INSTRUMENT, SYMBOL, ScriptedAgent, candle, long_intent
from .slow_venue import SlowVenue

PRICE = Decimal("100")


class StickyStops(SlowVenue):
    """Cancels of stop-losses are never confirmed once ``sticky`` is set (the take-profit's
    are): the stop's coins stay locked on the venue."""

    def __init__(self) -> None:
        super().__init__(INSTRUMENT, PRICE)
        self.sticky = False
        self.pairs: list[tuple[Decimal, Decimal]] = []

    async def submit_oco(self, stop_loss: Order, take_profit: Order) -> None:
        self.pairs.append((stop_loss.qty, take_profit.qty))
        await super().submit_oco(stop_loss, take_profit)

    async def cancel(self, account_id: str, client_id: str) -> None:
        order = self.open.get(client_id)
        if self.sticky and order is not None and order.role is OrderRole.STOP_LOSS:
            raise OutcomeUnknown("the cancel is on its way")
        await super().cancel(account_id, client_id)


async def _grown_position(first: str = "10", then: str = "10") -> tuple[Engine, StickyStops]:
    """10 BTC held with a pair of 10 resting; then the stop's cancel sticks and the entry
    fills 10 more: 20 held, 10 of them still locked by the old stop (or ``first`` and
    ``then``)."""
    venue = StickyStops()
    agent = ScriptedAgent(lambda i, view: [long_intent(view, "0.98", "1.05")] if i == 0 else [])
    engine = Engine(
        venue=venue,
        clock=SimClock(0),
        bus=EventBus(),
        make_agent=lambda name, params: agent,  # type: ignore[arg-type,return-value]
        profile_for=get_profile,
        taker_fee=Decimal(0),
    )
    await engine.add_account(AccountSpec("a1", "scripted", "moderate", Decimal(10_000), (SYMBOL,)))
    await engine.on_candle(candle(0, 100, 100, 100, 100))
    (entry,) = venue.entries()
    venue.fill(entry, Decimal(first))
    await engine.executor.drain()
    assert venue.pairs == [(Decimal(first), Decimal(first))]
    venue.sticky = True
    venue.fill(entry, Decimal(then))
    if entry in venue.open:  # the entry ends: its pair's last re-size
        venue.finish(entry, OrderStatus.CANCELED)
    await engine.executor.drain()
    return engine, venue


def test_no_new_pair_while_the_old_stops_cancel_is_unconfirmed_and_the_monitor_holds_all() -> None:
    async def scenario() -> tuple[Engine, StickyStops]:
        engine, venue = await _grown_position()
        # Asked again (a later candle): the old stop still holds its 10.
        await engine.executor.protection.ensure(engine.accounts["a1"], SYMBOL)
        return engine, venue

    engine, venue = asyncio.run(scenario())
    acct = engine.accounts["a1"]
    assert acct.ledger.positions[SYMBOL].qty == Decimal(20)
    # K1: never a pair over coins the unconfirmed stop may still sell (not even
    # one for the coins it left free; the venue's report of the stop settles it first).
    assert venue.pairs == [(Decimal(10), Decimal(10))]
    # K2: no pair covers the 20, so the position monitor guards the position.
    assert SYMBOL in acct.guarded
    assert engine.executor.is_protected(acct, acct.ledger.positions[SYMBOL])


def test_a_stop_smaller_than_the_position_is_not_a_live_stop_loss() -> None:
    async def scenario() -> tuple[bool, int, int]:
        engine, _venue = await _grown_position()
        acct = engine.accounts["a1"]
        pos = acct.ledger.positions[SYMBOL]
        before = engine.violations
        # Without the monitor, the resting stop of 10 does not protect 20 (K3).
        acct.bracket_book.move(SYMBOL, BracketState.RESTING)
        protected = engine.executor.is_protected(acct, pos)
        await engine.on_price(SYMBOL, Decimal("100.5"))
        return protected, before, engine.violations

    protected, before, after = asyncio.run(scenario())
    assert protected is False
    assert (before, after) == (0, 1)  # the engine's invariant check says so, once


def test_the_pair_comes_back_for_all_of_it_once_the_stuck_stop_is_reported_gone() -> None:
    async def scenario() -> tuple[Engine, StickyStops]:
        engine, venue = await _grown_position("10", "5")
        acct = engine.accounts["a1"]
        assert venue.pairs == [(Decimal(10), Decimal(10))] and SYMBOL in acct.guarded
        (stop,) = [c for c, o in venue.open.items() if o.role is OrderRole.STOP_LOSS]
        venue.finish(stop, OrderStatus.CANCELED)  # the cancel's answer, late
        await engine.executor.drain()
        return engine, venue

    engine, venue = asyncio.run(scenario())
    acct = engine.accounts["a1"]
    assert acct.ledger.positions[SYMBOL].qty == Decimal(15)
    assert venue.pairs == [(Decimal(10), Decimal(10)), (Decimal(15), Decimal(15))]
    live = sorted((o.role.value, o.qty) for o in acct.working(SYMBOL, PROTECTIVE))
    assert live == [("stop_loss", Decimal(15)), ("take_profit", Decimal(15))]


def test_free_coins_worth_less_than_the_smallest_order_get_no_pair_and_are_watched() -> None:
    engine, venue = asyncio.run(_grown_position("0.1", "0.02"))
    acct = engine.accounts["a1"]
    pos = acct.ledger.positions[SYMBOL]
    # 0.12 held (worth 11.76 at the stop, an order could sell it) but 0.1 is locked: the free
    # 0.02 is worth 1.96 at the stop, below the 5 USDT the venue accepts.
    assert pos.qty == Decimal("0.12")
    assert venue.pairs == [(Decimal("0.1"), Decimal("0.1"))]
    assert SYMBOL in acct.guarded

"""No new pair over an old pair whose cancels the venue has not confirmed (mutant N3).

A position of 10 rests under a pair of 10; its entry buys 10 more and ends, so the pair is
re-sized (this venue cannot amend: cancel and replace). Neither cancel is confirmed (the venue
timed out on both): until it reports the legs gone, either may still sell the 10 coins it
holds, and a new pair of 20 over them could sell coins that are no longer there. The engine
places nothing, the position monitor holds the stop for all 20, and the pair of 20 follows
the venue's reports of the old legs.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal

from rampart.clock import SimClock
from rampart.domain.accounts import AccountSpec
from rampart.domain.errors import OutcomeUnknown
from rampart.domain.orders import Order, OrderStatus
from rampart.risk.profiles import get_profile
from rampart.trading.bus import EventBus
from rampart.trading.engine import Engine
from rampart.trading.protection import PROTECTIVE

from .helpers import INSTRUMENT, SYMBOL, ScriptedAgent, candle, long_intent
from .slow_venue import SlowVenue

D = Decimal


class SilentCancels(SlowVenue):
    """Once ``silent`` is set, every cancel of a leg times out (the order stays open here)."""

    def __init__(self) -> None:
        super().__init__(INSTRUMENT, D(100))
        self.silent = False
        self.pairs: list[tuple[Decimal, Decimal]] = []

    async def submit_oco(self, stop_loss: Order, take_profit: Order) -> None:
        self.pairs.append((stop_loss.qty, take_profit.qty))
        await super().submit_oco(stop_loss, take_profit)

    async def cancel(self, account_id: str, client_id: str) -> None:
        order = self.open.get(client_id)
        if self.silent and order is not None and order.role in PROTECTIVE:
            raise OutcomeUnknown("the cancel timed out")
        await super().cancel(account_id, client_id)

    def legs(self) -> list[str]:
        return [c for c, o in self.open.items() if o.role in PROTECTIVE]


async def _both_cancels_unconfirmed() -> tuple[Engine, SilentCancels]:
    venue = SilentCancels()
    agent = ScriptedAgent(lambda i, view: [long_intent(view, "0.98", "1.05")] if i == 0 else [])
    engine = Engine(
        venue=venue,
        clock=SimClock(0),
        bus=EventBus(),
        make_agent=lambda name, params: agent,  # type: ignore[arg-type,return-value]
        profile_for=get_profile,
        taker_fee=D(0),
    )
    await engine.add_account(AccountSpec("a1", "scripted", "moderate", D(10_000), (SYMBOL,)))
    await engine.on_candle(candle(0, 100, 100, 100, 100))  # an entry for 20
    (entry,) = venue.entries()
    venue.fill(entry, D(10))
    await engine.executor.drain()
    assert venue.pairs == [(D(10), D(10))]
    venue.silent = True
    venue.fill(entry, D(10))  # the entry's last part: the pair grows to 20 now
    await engine.executor.drain()
    return engine, venue


def test_no_pair_is_sent_while_neither_cancel_of_the_old_pair_is_confirmed() -> None:
    engine, venue = asyncio.run(_both_cancels_unconfirmed())
    acct = engine.accounts["a1"]
    pos = acct.ledger.positions[SYMBOL]
    assert pos.qty == D(20)
    # N3: no pair of 20 over the 10 coins the old legs may still sell.
    assert venue.pairs == [(D(10), D(10))]
    assert len(venue.legs()) == 2  # the old legs, still open on the venue
    assert SYMBOL in acct.guarded and engine.executor.is_protected(acct, pos)


def test_asked_again_before_the_venue_answers_it_still_sends_nothing() -> None:
    async def scenario() -> SilentCancels:
        engine, venue = await _both_cancels_unconfirmed()
        await engine.executor.protection.ensure(engine.accounts["a1"], SYMBOL)  # next candle
        return venue

    assert asyncio.run(scenario()).pairs == [(D(10), D(10))]


def test_the_pair_of_20_follows_the_venues_reports_of_the_old_legs() -> None:
    async def scenario() -> tuple[Engine, SilentCancels]:
        engine, venue = await _both_cancels_unconfirmed()
        for leg in venue.legs():
            venue.finish(leg, OrderStatus.CANCELED)  # the cancels' answers, late
        await engine.executor.drain()
        return engine, venue

    engine, venue = asyncio.run(scenario())
    acct = engine.accounts["a1"]
    assert venue.pairs == [(D(10), D(10)), (D(20), D(20))]
    live = sorted((o.role.value, o.qty) for o in acct.working(SYMBOL, PROTECTIVE))
    assert live == [("stop_loss", D(20)), ("take_profit", D(20))]

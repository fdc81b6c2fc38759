"""What :meth:`Protector.ensure` sends once a position changed: the leftover leg of a bracket
canceled when the position is gone, a pair resized when the position grew, nothing sent while
the pair rests or while reconciliation holds protection back.

The venue (:class:`~tests.trading.slow_venue.SlowVenue`) links no orders: a stop that fills
leaves its take-profit working there until someone cancels it. The engine leaves a filled
stop's partner to the venue (one-cancels-the-other); when protection is next asked for the
symbol (the partner's report, reconciliation finding the position gone) whatever still works
on a closed position is canceled.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal

from rampart.clock import SimClock
from rampart.domain.accounts import AccountSpec
from rampart.domain.orders import Order, OrderRole, OrderType, Side
from rampart.risk.profiles import get_profile
from rampart.trading.bus import EventBus
from rampart.trading.engine import Engine

from .helpers import INSTRUMENT, SYMBOL, ScriptedAgent, candle, long_intent
from .slow_venue import SlowVenue

D = Decimal
PROTECTIVE = (OrderRole.STOP_LOSS, OrderRole.TAKE_PROFIT)


class CountingVenue(SlowVenue):
    def __init__(self) -> None:
        super().__init__(INSTRUMENT, D(100))
        self.pairs: list[tuple[Decimal, Decimal]] = []
        self.cancels: list[str] = []

    async def submit_oco(self, stop_loss, take_profit) -> None:  # type: ignore[no-untyped-def]
        self.pairs.append((stop_loss.qty, take_profit.qty))
        await super().submit_oco(stop_loss, take_profit)

    async def cancel(self, account_id: str, client_id: str) -> None:
        assert account_id == "a1"
        self.cancels.append(client_id)
        await super().cancel(account_id, client_id)

    def working(self, role: OrderRole) -> list[str]:
        return [c for c, o in self.open.items() if o.role is role]


async def _held(qty: str) -> tuple[Engine, CountingVenue]:
    """``qty`` coins held from one entry, with its pair resting."""
    venue = CountingVenue()
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
    await engine.on_candle(candle(0, 100, 100, 100, 100))
    (entry,) = venue.entries()
    venue.fill(entry, D(qty))
    await engine.executor.drain()
    return engine, venue


def test_a_filled_stop_leaves_no_take_profit_working_and_no_monitor() -> None:
    async def scenario() -> tuple[Engine, CountingVenue, str]:
        engine, venue = await _held("10")
        (stop,) = venue.working(OrderRole.STOP_LOSS)
        (take,) = venue.working(OrderRole.TAKE_PROFIT)
        acct = engine.accounts["a1"]
        acct.guarded.add(SYMBOL)  # as after an earlier refusal of a pair
        # Another position's stop, on another symbol: not this position's to cancel.
        other = Order(
            client_id="eth-stop",
            account_id="a1",
            symbol="ETH/USDT",
            side=Side.SELL,
            type=OrderType.STOP_MARKET,
            qty=D(1),
            role=OrderRole.STOP_LOSS,
            stop_price=D(90),
        )
        acct.orders[other.client_id] = other
        venue.fill(stop, D(10))
        await engine.executor.drain()
        assert venue.cancels == []  # left to the venue, as a one-cancels-the-other pair
        await engine.executor.ensure_protection(acct, SYMBOL)  # as reconciliation asks
        return engine, venue, take

    engine, venue, take = asyncio.run(scenario())
    acct = engine.accounts["a1"]
    assert SYMBOL not in acct.ledger.positions
    assert venue.cancels == [take] and not venue.working(OrderRole.TAKE_PROFIT)
    assert acct.orders["eth-stop"].is_open
    assert not list(acct.open_orders(SYMBOL, roles=PROTECTIVE))
    assert SYMBOL not in acct.guarded and SYMBOL not in acct.refusals


def test_a_grown_position_gets_one_new_pair_for_all_of_it_and_a_resting_pair_is_left_alone() -> (
    None
):
    async def scenario() -> tuple[Engine, CountingVenue, list[str]]:
        engine, venue = await _held("10")
        old = venue.working(OrderRole.STOP_LOSS) + venue.working(OrderRole.TAKE_PROFIT)
        (entry,) = venue.entries()
        venue.fill(entry, D(5))
        await engine.executor.drain()
        # Asked again with nothing changed: the pair of 15 rests, nothing is sent.
        await engine.executor.protection.ensure(engine.accounts["a1"], SYMBOL)
        return engine, venue, old

    engine, venue, old = asyncio.run(scenario())
    acct = engine.accounts["a1"]
    assert acct.ledger.positions[SYMBOL].qty == D(15)
    assert venue.pairs == [(D(10), D(10)), (D(15), D(15))]
    assert sorted(venue.cancels) == sorted(old)
    assert SYMBOL not in acct.guarded
    live = list(acct.open_orders(SYMBOL, roles=PROTECTIVE))
    assert sorted(o.qty for o in live) == [D(15), D(15)]
    assert engine.executor.is_protected(acct, acct.ledger.positions[SYMBOL])


def test_nothing_is_sent_while_reconciliation_holds_protection_back() -> None:
    async def scenario() -> tuple[Engine, CountingVenue]:
        engine, venue = await _held("10")
        engine.executor.hold_protection.add("a1")
        (entry,) = venue.entries()
        venue.fill(entry, D(5))
        await engine.executor.drain()
        return engine, venue

    engine, venue = asyncio.run(scenario())
    assert venue.pairs == [(D(10), D(10))] and venue.cancels == []

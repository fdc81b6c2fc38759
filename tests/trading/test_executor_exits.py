"""Closing a position at market: the entry stops buying, the bracket is lifted, one exit sells
every whole lot with the position's entry, strategy and reason; asked twice, it is not sent
twice; an exit the venue refuses leaves the position protected again.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal

from rampart.domain.orders import OrderRole, OrderStatus, OrderType, Side
from rampart.trading.engine import Engine

from .held import HeldVenue, elsewhere, held
from .helpers import SYMBOL

D = Decimal


def _exits(engine: Engine) -> list:  # type: ignore[type-arg]
    return [o for o in engine.accounts["a1"].recent_orders if o.role is OrderRole.EXIT]


def test_an_exit_lifts_the_bracket_stops_the_entry_and_sells_every_whole_lot_once() -> None:
    async def scenario() -> tuple[Engine, HeldVenue, list[str]]:
        venue = HeldVenue()
        engine, _ = await held("10.000005", venue)
        venue.hold_exits = True
        acct = engine.accounts["a1"]
        (entry,) = venue.entries()
        before = venue.working(OrderRole.STOP_LOSS) + venue.working(OrderRole.TAKE_PROFIT)
        venue.pairs.clear()
        await engine.executor.exit_position(acct, SYMBOL, "the agent closes")
        await engine.executor.exit_position(acct, SYMBOL, "asked again")
        assert entry in acct.pending_cancel
        return engine, venue, [entry, *before]

    engine, venue, asked = asyncio.run(scenario())
    acct = engine.accounts["a1"]
    pos = acct.ledger.positions[SYMBOL]
    assert sorted(venue.cancels) == sorted(asked)  # the entry and both legs, once each
    (exit_order,) = _exits(engine)
    assert (exit_order.side, exit_order.type, exit_order.qty) == (
        Side.SELL,
        OrderType.MARKET,
        D(10),
    )
    assert exit_order.parent_id == pos.entry_client_id == asked[0]
    assert (exit_order.strategy, exit_order.reason) == ("scripted", "the agent closes")
    assert exit_order.status is OrderStatus.SUBMITTED
    assert venue.pairs == []  # no new bracket while the exit sells
    assert not list(acct.open_orders(SYMBOL, roles=(OrderRole.STOP_LOSS, OrderRole.TAKE_PROFIT)))


def test_an_exit_the_venue_refuses_leaves_the_position_protected_again() -> None:
    async def scenario() -> tuple[Engine, HeldVenue]:
        venue = HeldVenue()
        engine, _ = await held("10", venue)
        venue.refuse_exits = True
        await engine.executor.exit_position(engine.accounts["a1"], SYMBOL, "the agent closes")
        return engine, venue

    engine, venue = asyncio.run(scenario())
    acct = engine.accounts["a1"]
    (exit_order,) = _exits(engine)
    assert exit_order.status is OrderStatus.REJECTED
    assert acct.ledger.positions[SYMBOL].qty == D(10)
    assert venue.pairs == [(D(10), D(10))] * 2  # the first lifted for the exit, then again
    assert engine.executor.is_protected(acct, acct.ledger.positions[SYMBOL])


def test_no_position_no_exit() -> None:
    async def scenario() -> Engine:
        venue = HeldVenue()
        engine, _ = await held("10", venue)
        acct = engine.accounts["a1"]
        await engine.executor.exit_position(acct, SYMBOL, "first")  # fills at once
        assert SYMBOL not in acct.ledger.positions
        await engine.executor.exit_position(acct, SYMBOL, "second")
        return engine

    engine = asyncio.run(scenario())
    assert [o.reason for o in _exits(engine)] == ["first"]


def test_a_refused_exit_whose_lifted_bracket_is_not_reported_yet_is_watched_by_the_monitor() -> (
    None
):
    async def scenario() -> tuple[Engine, HeldVenue]:
        venue = HeldVenue()
        engine, _ = await held("10", venue)
        venue.refuse_exits = True
        venue.quiet_cancels = True  # the legs' ends come later, by polling
        await engine.executor.exit_position(engine.accounts["a1"], SYMBOL, "the agent closes")
        return engine, venue

    engine, venue = asyncio.run(scenario())
    acct = engine.accounts["a1"]
    # The lifted legs may still hold the coins on the venue: no new pair yet, the monitor
    # holds the stop meanwhile.
    assert venue.pairs == [(D(10), D(10))]
    assert SYMBOL in acct.guarded
    assert engine.executor.is_protected(acct, acct.ledger.positions[SYMBOL])


def test_an_exit_stops_only_this_symbols_entry() -> None:
    async def scenario() -> tuple[Engine, HeldVenue]:
        venue = HeldVenue()
        engine, _ = await held("10", venue)
        elsewhere(engine.accounts["a1"], OrderRole.ENTRY)
        await engine.executor.exit_position(engine.accounts["a1"], SYMBOL, "the agent closes")
        return engine, venue

    engine, venue = asyncio.run(scenario())
    assert "eth-entry" not in venue.cancels
    assert "eth-entry" not in engine.accounts["a1"].pending_cancel

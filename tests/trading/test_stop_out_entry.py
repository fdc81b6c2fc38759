"""An entry still buying when its position is closed.

An entry fills in parts (a swap re-sent until it lands, an order resting in a thin book), so
the position's stop or target may sell before the entry is done. Once a stop or a take-profit
sells, partly or wholly, the entry is asked to stop: it would buy into the stop, or above the
target, on every candle, and once the position is closed open a new one. A cancel is not always
confirmed at once, so the entry may still fill after the close: the position it opens then
keeps the entry's bracket (it went with the close before, and the new position had a stop of
0, which the monitor took for dust and never sold). The bracket goes once the entry ends.

Coins sold outside Rampart (booked by reconciliation as external) are not the bracket closing
the position: the entry keeps buying.

The venue (:class:`~tests.trading.held.HeldVenue`) fills when the test says, at the price it
sets, with no fee; a cancel of an entry is not confirmed when asked for.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest

from rampart.domain.fills import Fill, Liquidity
from rampart.domain.orders import OrderRole, OrderStatus, Side
from rampart.trading.account import Bracket
from rampart.trading.engine import Engine

from .held import HeldVenue, held
from .helpers import SYMBOL

D = Decimal
BRACKET = Bracket(D(98), D(105))
"""The bracket :func:`~tests.trading.held.held` gives its entry (0.98 and 1.05 of 100)."""


async def _closed_by(leg: OrderRole) -> tuple[Engine, HeldVenue, str]:
    """10 coins held from an entry for 20, closed by one fill of its ``leg`` (the venue ends
    the other leg itself). Returns the entry's client id."""
    engine, venue = await held("10")
    (entry,) = venue.entries()
    (filled,) = venue.working(leg)
    other = OrderRole.TAKE_PROFIT if leg is OrderRole.STOP_LOSS else OrderRole.STOP_LOSS
    (partner,) = venue.working(other)
    venue.price = D(98) if leg is OrderRole.STOP_LOSS else D(105)
    venue.fill(filled, D(10))
    venue.finish(partner, OrderStatus.CANCELED)
    await engine.executor.drain()
    assert SYMBOL not in engine.accounts["a1"].ledger.positions
    return engine, venue, entry


@pytest.mark.parametrize("leg", [OrderRole.STOP_LOSS, OrderRole.TAKE_PROFIT])
def test_a_leg_that_closes_the_whole_position_at_once_stops_the_entry(leg: OrderRole) -> None:
    engine, venue, entry = asyncio.run(_closed_by(leg))
    acct = engine.accounts["a1"]
    assert venue.cancels == [entry]  # asked once; the venue has not confirmed it yet
    assert entry in acct.pending_cancel
    assert not list(acct.open_orders(SYMBOL, roles=(OrderRole.ENTRY,)))


@pytest.mark.parametrize("qty", ["5", "10"], ids=["part of the rest", "all of the rest"])
def test_an_entry_filling_after_the_stop_closed_its_position_opens_one_with_its_bracket(
    qty: str,
) -> None:
    async def scenario() -> tuple[Engine, HeldVenue, list[tuple[Decimal, Decimal]]]:
        engine, venue, entry = await _closed_by(OrderRole.STOP_LOSS)
        venue.pairs.clear()
        venue.price = D(99)
        venue.fill(entry, D(qty))  # the cancel lost the race
        await engine.executor.drain()
        return engine, venue, list(venue.pairs)

    engine, venue, pairs = asyncio.run(scenario())
    acct = engine.accounts["a1"]
    pos = acct.ledger.positions[SYMBOL]
    assert (pos.qty, pos.stop_loss, pos.take_profit) == (D(qty), BRACKET.stop_loss, D(105))
    assert pairs == [(D(qty), D(qty))]  # a pair for it at once, at the entry's levels
    levels = {o.role: (o.stop_price, o.price) for o in acct.open_orders(SYMBOL)}
    assert levels == {
        OrderRole.STOP_LOSS: (D(98), None),
        OrderRole.TAKE_PROFIT: (None, D(105)),
    }
    assert engine.executor.is_protected(acct, pos) and SYMBOL not in acct.guarded


def test_an_entry_filling_after_an_exit_closed_its_position_is_protected_too() -> None:
    async def scenario() -> Engine:
        engine, venue = await held("10")
        (entry,) = venue.entries()
        acct = engine.accounts["a1"]
        await engine.executor.exit_position(acct, SYMBOL, "the agent closes")  # sold at once
        assert SYMBOL not in acct.ledger.positions and entry in acct.pending_cancel
        venue.fill(entry, D(5))
        await engine.executor.drain()
        return engine

    engine = asyncio.run(scenario())
    acct = engine.accounts["a1"]
    pos = acct.ledger.positions[SYMBOL]
    assert (pos.qty, pos.stop_loss, pos.take_profit) == (D(5), D(98), D(105))
    (stop,) = acct.open_orders(SYMBOL, roles=(OrderRole.STOP_LOSS,))
    assert (stop.qty, stop.stop_price) == (D(5), D(98))


def test_the_bracket_goes_once_the_entry_ends_and_stays_while_a_position_of_it_is_open() -> None:
    async def scenario() -> tuple[bool, bool, bool, bool]:
        engine, venue, entry = await _closed_by(OrderRole.STOP_LOSS)
        acct = engine.accounts["a1"]
        kept_after_close = acct.brackets.get(entry) == BRACKET
        venue.finish(entry, OrderStatus.CANCELED)  # the cancel lands: nothing more to buy
        await engine.executor.drain()
        gone_when_ended = entry not in acct.brackets and entry not in acct.orders
        # The same again, but the entry fills once more before its cancel lands.
        engine, venue, entry = await _closed_by(OrderRole.STOP_LOSS)
        acct = engine.accounts["a1"]
        venue.fill(entry, D(5))
        venue.finish(entry, OrderStatus.CANCELED)
        await engine.executor.drain()
        # Kept for the position that fill opened; it opened at the stop's own price, so the
        # bracket moved with the fill (a stop at the entry would protect nothing).
        kept_for_position = entry in acct.brackets and acct.brackets[entry].stop_loss < venue.price
        (stop,) = venue.working(OrderRole.STOP_LOSS)
        (take,) = venue.working(OrderRole.TAKE_PROFIT)
        venue.fill(stop, D(5))
        venue.finish(take, OrderStatus.CANCELED)
        await engine.executor.drain()
        gone_with_position = entry not in acct.brackets
        return kept_after_close, gone_when_ended, kept_for_position, gone_with_position

    assert asyncio.run(scenario()) == (True, True, True, True)


@pytest.mark.parametrize("qty", ["4", "10"], ids=["some", "all"])
def test_coins_sold_by_hand_leave_the_entry_buying(qty: str) -> None:
    async def scenario() -> tuple[Engine, HeldVenue, str]:
        engine, venue = await held("10")
        (entry,) = venue.entries()
        acct = engine.accounts["a1"]
        pos = acct.ledger.positions[SYMBOL]
        # Reconciliation books a sale made on the exchange by hand, as it does.
        sold = Fill("hand-1", "", "a1", SYMBOL, Side.SELL, D(qty), D(101), D(0), Liquidity.TAKER, 5)
        await engine.executor.book_fill(
            acct, sold, OrderRole.EXTERNAL, pos.strategy, pos.entry_client_id, exit_reason="x"
        )
        await engine.executor.drain()
        return engine, venue, entry

    engine, venue, entry = asyncio.run(scenario())
    acct = engine.accounts["a1"]
    left = acct.ledger.positions[SYMBOL].qty if SYMBOL in acct.ledger.positions else D(0)
    assert left == D(10) - D(qty)
    assert entry not in venue.cancels and entry not in acct.pending_cancel
    assert [o.client_id for o in acct.open_orders(SYMBOL, roles=(OrderRole.ENTRY,))] == [entry]
    assert acct.brackets[entry] == BRACKET  # for what it buys next

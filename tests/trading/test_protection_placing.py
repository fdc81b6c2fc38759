"""Placing a bracket: the pair's orders, the prices it takes when the entry's bracket record is
gone, one refusal for a pair whose two legs are refused, a pair lost in a timeout watched by the
monitor, which pairs count as resting, and a position the monitor guards without a refusal
tried again on the next candle.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import pytest

from rampart.domain.orders import Order, OrderRole, OrderStatus, OrderType, Side
from rampart.trading.engine import Engine
from rampart.trading.protection import Protector
from rampart.venues.paper import PaperVenue

from .held import HeldVenue, held
from .helpers import SYMBOL, ScriptedAgent, build, candle, feed, long_intent

D = Decimal
PROTECTIVE = (OrderRole.STOP_LOSS, OrderRole.TAKE_PROFIT)


def _pair(engine: Engine) -> dict[OrderRole, Order]:
    acct = engine.accounts["a1"]
    return {o.role: o for o in acct.open_orders(SYMBOL, roles=PROTECTIVE)}


def test_the_pair_sells_the_position_at_its_stop_and_target_for_its_entry() -> None:
    engine, venue = asyncio.run(held("10"))
    pos = engine.accounts["a1"].ledger.positions[SYMBOL]
    pair = _pair(engine)
    stop, take = pair[OrderRole.STOP_LOSS], pair[OrderRole.TAKE_PROFIT]
    assert (stop.side, stop.type, stop.qty, stop.stop_price) == (
        Side.SELL,
        OrderType.STOP_MARKET,
        D(10),
        D(98),
    )
    assert (take.side, take.type, take.qty, take.price) == (
        Side.SELL,
        OrderType.LIMIT,
        D(10),
        D(105),
    )
    for leg in (stop, take):
        assert leg.parent_id == pos.entry_client_id and leg.strategy == "scripted"
        assert leg.oco_group == stop.client_id
    assert venue.pairs == [(D(10), D(10))]


def test_without_the_entrys_bracket_record_the_pair_takes_the_positions_own_levels() -> None:
    async def scenario() -> Engine:
        venue = HeldVenue()
        engine, _ = await held("10", venue)
        acct = engine.accounts["a1"]
        pos = acct.ledger.positions[SYMBOL]
        # As for a position adopted by reconciliation: no bracket record, levels on the position.
        acct.brackets.pop(pos.entry_client_id)
        pos.stop_loss, pos.take_profit = D(97), D(106)
        (entry,) = venue.entries()
        venue.fill(entry, D(5))
        venue.finish(entry, OrderStatus.CANCELED)  # the entry ends: the pair's last re-size
        await engine.executor.drain()
        return engine

    engine = asyncio.run(scenario())
    pair = _pair(engine)
    assert (pair[OrderRole.STOP_LOSS].stop_price, pair[OrderRole.TAKE_PROFIT].price) == (
        D(97),
        D(106),
    )
    assert pair[OrderRole.STOP_LOSS].qty == D(15)


class RejectingLegs(HeldVenue):
    """Takes a pair, then reports each leg rejected (a venue that checks after accepting)."""

    def __init__(self) -> None:
        super().__init__()
        self.reject = False

    async def submit_oco(self, stop_loss: Order, take_profit: Order) -> None:
        await super().submit_oco(stop_loss, take_profit)
        if self.reject:
            self.finish(stop_loss.client_id, OrderStatus.REJECTED)
            self.finish(take_profit.client_id, OrderStatus.REJECTED)


def test_a_pair_whose_two_legs_are_refused_is_one_refusal() -> None:
    async def scenario() -> Engine:
        venue = RejectingLegs()
        venue.reject = True
        engine, _ = await held("10", venue)
        return engine

    engine = asyncio.run(scenario())
    acct = engine.accounts["a1"]
    refusal = acct.bracket_book.refusal(SYMBOL)
    assert refusal.failures == 1 and refusal.qty == D(10)
    assert SYMBOL in acct.guarded


class TimingOut(HeldVenue):
    async def submit_oco(self, stop_loss: Order, take_profit: Order) -> None:
        raise TimeoutError


def test_a_pair_lost_in_a_timeout_is_not_a_refusal_and_the_monitor_watches() -> None:
    engine, _venue = asyncio.run(held("10", TimingOut()))
    acct = engine.accounts["a1"]
    assert SYMBOL in acct.guarded and acct.bracket_book.refusal(SYMBOL) is None
    assert {o.status for o in acct.recent_orders if o.role in PROTECTIVE} == {OrderStatus.UNKNOWN}


def _order(role: OrderRole, qty: str, filled: str = "0") -> Order:
    return Order(
        client_id=f"{role.value}-{qty}-{filled}",
        account_id="a1",
        symbol=SYMBOL,
        side=Side.SELL,
        type=OrderType.LIMIT,
        qty=D(qty),
        role=role,
        filled_qty=D(filled),
    )


STOP, TAKE = OrderRole.STOP_LOSS, OrderRole.TAKE_PROFIT


@pytest.mark.parametrize(
    ("live", "rests"),
    [
        ([_order(STOP, "10"), _order(TAKE, "10")], True),
        ([_order(STOP, "10"), _order(TAKE, "9")], False),
        ([_order(STOP, "10"), _order(STOP, "10")], False),  # two stops are no pair
        ([_order(STOP, "14", filled="4")], True),  # triggered, selling the rest
        ([_order(STOP, "10")], False),  # a stop alone, untriggered: its target is missing
        ([_order(TAKE, "14", filled="4")], False),
        ([], False),
    ],
)
def test_what_counts_as_a_resting_bracket_for_ten_coins(live: list[Order], rests: bool) -> None:
    assert Protector._rests(live, D(10)) is rests


class DroppingPairs(PaperVenue):
    """Takes the next ``drop`` pairs and cancels them at once; counts the pairs asked for."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.drop = 0
        self.pairs_asked = 0

    async def submit_oco(self, stop_loss: Order, take_profit: Order) -> None:
        self.pairs_asked += 1
        await super().submit_oco(stop_loss, take_profit)
        if self.drop > 0:
            self.drop -= 1
            await self.cancel(stop_loss.account_id, stop_loss.client_id)


def test_a_position_guarded_after_dropped_pairs_is_tried_again_on_the_next_candle() -> None:
    async def scenario() -> tuple[list[int], list[bool]]:
        agent = ScriptedAgent(lambda i, view: [long_intent(view, "0.98", "1.04")] if i == 0 else [])
        engine, venue, clock, _bus = await build(agent, venue_class=DroppingPairs)
        assert isinstance(venue, DroppingPairs)
        venue.drop = 3
        acct = engine.accounts["a1"]
        asked, guarded = [], []
        for i in range(3):
            await feed(engine, clock, [candle(i, 100, 101, 99, 100)])
            asked.append(venue.pairs_asked)
            guarded.append(SYMBOL in acct.guarded)
        return asked, guarded

    asked, guarded = asyncio.run(scenario())
    # Three dropped at the entry's instant, then the monitor; the next candle tries again
    # (no refusal to wait for) and the pair rests; the one after, the monitor stands down.
    assert asked == [3, 4, 4]
    assert guarded == [True, True, False]

"""A take-profit filled in part takes its stop with it (the exchange's one-cancels-the-other):
the coins left are put under a new stop at once, not left to the monitor until the target is
done. The target's rest is canceled and a new pair placed for what is left, at the same
prices; while that happens the monitor holds the position, and after it the exchange does."""

from __future__ import annotations

import asyncio
from decimal import Decimal

from rampart.domain.orders import OrderRole, OrderStatus
from rampart.trading.engine import Engine
from rampart.trading.invariants import after_event
from rampart.trading.protection_state import Cover, read

from .held import HeldVenue, held
from .helpers import SYMBOL

D = Decimal


def _leg(venue: HeldVenue, role: OrderRole) -> str:
    (client_id,) = venue.working(role)
    return client_id


async def _part_filled(engine: Engine, venue: HeldVenue, qty: str) -> None:
    venue.price = D(105)
    venue.fill(_leg(venue, OrderRole.TAKE_PROFIT), D(qty))
    venue.finish(_leg(venue, OrderRole.STOP_LOSS), OrderStatus.CANCELED)  # the OCO rule
    await engine.executor.drain()
    after_event(engine, engine.accounts["a1"], engine.clock.now_ms())


def test_a_part_filled_target_has_a_stop_placed_for_the_rest_at_once() -> None:
    async def scenario() -> tuple[Engine, HeldVenue]:
        engine, venue = await held("10")
        await _part_filled(engine, venue, "4")
        return engine, venue

    engine, venue = asyncio.run(scenario())
    acct = engine.accounts["a1"]
    assert acct.ledger.positions[SYMBOL].qty == D(6)
    assert venue.pairs == [(D(10), D(10)), (D(6), D(6))]
    stops = acct.working(SYMBOL, (OrderRole.STOP_LOSS,))
    takes = acct.working(SYMBOL, (OrderRole.TAKE_PROFIT,))
    assert [(o.remaining, o.stop_price) for o in stops] == [(D(6), D(98))]
    assert [(o.remaining, o.price) for o in takes] == [(D(6), D(105))]
    pos = acct.ledger.positions[SYMBOL]
    seen = read(acct, pos, venue.instrument(SYMBOL).floor_qty, engine.clock.now_ms())
    assert seen.cover is Cover.EXCHANGE and SYMBOL not in acct.guarded


def test_each_part_of_the_target_is_followed_by_a_stop_for_what_is_left() -> None:
    async def scenario() -> tuple[Engine, HeldVenue]:
        engine, venue = await held("10")
        for second, part in enumerate(("3", "2", "4"), start=1):
            engine.executor.clock.set(second * 1000)  # each part its own instant
            await _part_filled(engine, venue, part)
        return engine, venue

    engine, venue = asyncio.run(scenario())
    assert [q for q, _ in venue.pairs] == [D(10), D(7), D(5), D(1)]
    acct = engine.accounts["a1"]
    assert [o.remaining for o in acct.working(SYMBOL, (OrderRole.STOP_LOSS,))] == [D(1)]

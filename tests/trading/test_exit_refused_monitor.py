"""An exit the venue refuses, on a position the monitor was still watching: the bracket lifted
for the exit is put back, and once it rests the monitor stands down (the engine sees the pair
resting after the exit, as it does on the next candle).
"""

from __future__ import annotations

import asyncio
from decimal import Decimal

from rampart.domain.orders import OrderRole, OrderStatus
from rampart.trading.engine import Engine

from .held import HeldVenue, held
from .helpers import SYMBOL

D = Decimal


def test_a_refused_exit_puts_the_pair_back_and_the_monitor_stands_down() -> None:
    async def scenario() -> tuple[Engine, HeldVenue, list[str]]:
        venue = HeldVenue()
        engine, _ = await held("10", venue)
        acct = engine.accounts["a1"]
        # The pair was put back after a refusal; the monitor has not seen it rest yet.
        acct.bracket_book.hold(SYMBOL)
        lifted = venue.working(OrderRole.STOP_LOSS) + venue.working(OrderRole.TAKE_PROFIT)
        venue.pairs.clear()
        venue.refuse_exits = True
        await engine.executor.exit_position(acct, SYMBOL, "the agent closes")
        return engine, venue, lifted

    engine, venue, lifted = asyncio.run(scenario())
    acct = engine.accounts["a1"]
    (exit_order,) = [o for o in acct.recent_orders if o.role is OrderRole.EXIT]
    assert exit_order.status is OrderStatus.REJECTED
    assert set(lifted) <= set(venue.cancels)
    assert venue.pairs == [(D(10), D(10))]  # put back once
    assert SYMBOL not in acct.guarded  # the pair rests: the monitor stands down
    assert engine.executor.is_protected(acct, acct.ledger.positions[SYMBOL])

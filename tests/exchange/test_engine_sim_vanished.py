"""A resting pair the exchange forgets, through the real ccxt client against the simulator: the
exchange restarted without its open orders (a host restart of the exchange's side, as the
service soak's resume does), so the stop Rampart saw acknowledged is neither in the open-order
list nor found by its client order id. After :data:`VANISHED_AFTER` polls in a row the legs
are closed in the books (the exchange no longer has them) and a new pair is placed for every
coin: before, the legs stayed "submitted" forever and no stop rested again."""

from __future__ import annotations

import asyncio
from decimal import Decimal

from rampart.domain.orders import OrderRole, OrderStatus
from rampart.trading.invariants import after_event
from rampart.trading.protection_state import Cover, read
from rampart.venues.ccxt_sync import VANISHED_AFTER

from .helpers import SYMBOL, rig
from .test_engine_sim import _engine, _enter_at, _lots, _step


def test_a_pair_the_exchange_forgot_is_closed_and_placed_again() -> None:
    async def go() -> None:
        async with rig() as r:
            engine, _ = await _engine(r, _enter_at(0))
            await _step(r, engine)
            acct = engine.accounts["a1"]
            pos = acct.ledger.positions[SYMBOL]
            floor = r.venue.instrument(SYMBOL).floor_qty
            assert read(acct, pos, floor, r.clock.now_ms()).cover is Cover.EXCHANGE
            sub = r.sim.exchange.sub("a1")
            lost = set(sub.open)
            assert lost
            sub.open.clear()  # the exchange restarted: the coins are free, the pair is gone
            sub.done.clear()
            for _ in range(VANISHED_AFTER):
                await _step(r, engine)  # each candle's poll: not listed, not found
            after_event(engine, acct, r.clock.now_ms())
            assert all(acct.orders.get(cid) is None for cid in lost)
            seen = read(acct, pos, floor, r.clock.now_ms())
            assert seen.cover is Cover.EXCHANGE, seen
            on_sim = list(sub.open.values())
            assert on_sim and not lost & set(sub.open)
            assert sorted(o.qty for o in on_sim) == [_lots(r, pos.qty)] * 2
            stops = acct.working(SYMBOL, (OrderRole.STOP_LOSS,))
            assert [o.status for o in stops] == [OrderStatus.SUBMITTED]
            assert stops[0].remaining == _lots(r, pos.qty) > Decimal(0)

    asyncio.run(go())

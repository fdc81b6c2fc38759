"""An account's history read in the windows Binance accepts: at most 24 hours between startTime
and endTime (-1127 beyond), at most 1,000 rows a page; every trade and order of a longer
span is found."""

from __future__ import annotations

import asyncio
from decimal import Decimal

from rampart.domain.orders import Side
from rampart_testkit.simulator.exchange import OrderRequest

from .helpers import SYMBOL, rig

D = Decimal
HOUR = 3_600_000


def test_fills_and_orders_of_more_than_a_day_and_a_page_are_all_read() -> None:
    async def go() -> None:
        async with rig(accounts={"a1": {"USDT": "100000"}}) as r:
            ex = r.sim.exchange
            (acct,) = ex.keys.values()
            start = ex.now_ms
            for i in range(630):  # 630 trades over 31.5 hours: two windows, one over a page
                side = Side.BUY if i % 2 == 0 else Side.SELL
                qty = D("0.0003") if side is Side.BUY else D("0.00029")
                ex.place(acct, OrderRequest(SYMBOL, side, "MARKET", f"hand-{i}", qty=qty))
                await r.advance(3)
            since = start - 60_000
            assert ex.now_ms - since > 30 * HOUR
            fills = await r.venue.fetch_fills("a1", SYMBOL, since)
            assert sorted(int(f.fill_id.rsplit(":", 1)[1]) for f in fills) == [
                t.trade_id for t in ex.trades["a1"]
            ]
            orders = await r.venue.fetch_recent_orders("a1", SYMBOL, since)
            assert len({o.client_id for o in orders}) == 630
            assert r.sim.context.errors[400] == 0  # no window the exchange refused

    asyncio.run(go())

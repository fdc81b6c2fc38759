"""The account's orders and fills by websocket: the real ccxt.pro client against the
simulator's user data stream (``userDataStream.subscribe.signature``), on loopback."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

from rampart.domain.orders import OrderStatus, OrderType, Side
from rampart.venues.ccxt_client import make_client
from rampart.venues.ccxt_order_stream import OrderStream
from rampart_testkit.simulator.streams import streams_of
from tests.exchange.helpers import rig

OPEN_ORDERS = "/api/v3/openOrders"


def test_a_fill_arrives_by_the_stream_once_without_a_poll() -> None:
    async def go() -> None:
        async with rig() as r:
            acct = next(a for a in r.sim.exchange.keys.values() if a.account_id == "a1")
            ws = make_client(
                "binance", api_key=acct.key, secret=acct.secret, api_url=r.sim.url, pro=True
            )
            stream = OrderStream(r.venue.sync, {"a1": ws}, clock=r.clock)
            task = asyncio.create_task(stream.run())
            try:
                await _until(lambda: streams_of(r.sim.context).opened >= 1)
                # Signed in (the subscription answered): what happens from now on is news.
                await _until(lambda: stream.state == {"a1": "streaming"})
                price = r.sim.exchange.last_price("BTC/USDT")
                order = r.order(kind=OrderType.LIMIT, price=price * 2, side=Side.BUY)
                await r.venue.submit(order)
                polled = r.sim.context.requests[OPEN_ORDERS]
                await r.sim.advance(1)  # the resting order fills on the next candle
                await _until(lambda: stream.received >= 2)  # its acknowledgement and its fill
                assert not r.fills(order.client_id)  # kept, not applied between candles
                await stream.apply_received()  # what the venue's poll does, in the candle
                fills = r.fills(order.client_id)
                assert len(fills) == 1 and fills[0].qty == order.qty
                assert OrderStatus.FILLED in [x.status for x in r.reports if x.fill]
                assert r.sim.context.requests[OPEN_ORDERS] == polled  # no poll asked
                assert stream.state == {"a1": "streaming"}
                await r.venue.poll()  # a poll after it books nothing twice
                assert len(r.fills(order.client_id)) == 1
            finally:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
                await stream.close()

    asyncio.run(go())


async def _until(done: Callable[[], bool]) -> None:
    """Wait for news from the stream (it arrives on the loop, not on a clock)."""
    for _ in range(1000):
        if done():
            return
        await asyncio.sleep(0.01)

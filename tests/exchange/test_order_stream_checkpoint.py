"""A fill heard by the account's stream between two candles, then a checkpoint and a takeover:
the real ccxt.pro client against the simulator's user data stream, on loopback.

The fleet's chaos test lost fills this way: the stream absorbed the fill at once, marking its
trade as seen in the order tracker, while the report waited for the engine's next drain. A
shard handed back (streams stopped, then the checkpoint, no candle in between) or a worker
killed saved a tracker that had "seen" a trade its books never booked, and the next holder,
restored from it, never reported the fill. What is proven: the stream's news waits for the
candle's poll; a checkpoint taken before it keeps the order unfilled in the venue's state, so
the worker that takes the shard over reports the fill, once.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from typing import Any

from rampart.domain.orders import OrderType, Side
from rampart.trading.ports import VenueReport
from rampart.venues.ccxt_client import make_client
from rampart.venues.ccxt_venue import CcxtVenue
from tests.exchange.helpers import FAST, SYMBOL, Rig, rig, sim_client


def _twin(r: Rig) -> Callable[[Any], Any]:
    def twin(client: Any) -> Any:
        return make_client(
            "binance", api_key=client.apiKey, secret=client.secret, api_url=r.sim.url, pro=True
        )

    return twin


def test_a_fill_heard_by_the_stream_survives_a_checkpoint_and_a_takeover() -> None:
    async def go() -> None:
        async with rig() as r:
            venue = r.venue
            venue.streams.twin = _twin(r)
            assert await venue.start_order_stream()
            await _until(lambda: venue.streams.states() == {"a1": "streaming"})
            order = r.order(kind=OrderType.LIMIT, price=r.price() * 2, side=Side.BUY)
            await venue.submit(order)
            await venue.poll()  # the last candle's: the order rests, acknowledged
            stream = venue.streams.stream
            assert stream is not None
            ws = stream.clients["a1"]
            await r.advance(1)  # it fills between candles; the stream hears it
            await _until(lambda: any(o.get("status") == "closed" for o in (ws.orders or [])))
            # Heard (kept for the next candle), or, before the fix, absorbed at once.
            await _until(
                lambda: getattr(stream, "received", 0) >= 2 or venue.followed_orders("a1") == 0
            )
            # Handed back before the next candle: the streams stop, the checkpoint is taken.
            # Whatever the old venue reported after the last candle's drain is not in the books.
            await venue.stop_order_stream()
            saved = venue.snapshot()
            # Another worker takes the shard over from that checkpoint and polls.
            acct = next(a for a in r.sim.exchange.keys.values() if a.account_id == "a1")
            heir = CcxtVenue(
                {"a1": sim_client(r.sim, acct.key, acct.secret)},
                clock=r.clock,
                policy=FAST,
                rng=random.Random(2),
            )
            reports: list[VenueReport] = []
            heir.set_listener(reports.append)
            try:
                await heir.load([SYMBOL])
                heir.load_snapshot(saved)
                assert heir.followed_orders("a1") == 1  # still open in the saved state
                await heir.poll()
                fills = [x.fill for x in reports if x.fill and x.client_id == order.client_id]
                assert len(fills) == 1 and fills[0].qty == order.qty
                await heir.poll()
                assert len([x for x in reports if x.fill]) == 1  # once
                assert not r.fills(order.client_id)  # the old holder never applied it
            finally:
                await heir.aclose()

    asyncio.run(go())


async def _until(done: Callable[[], bool]) -> None:
    """Wait for news from the stream (it arrives on the loop, not on a clock)."""
    for _ in range(1000):
        if done():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("it never happened")

"""The ccxt feed streaming candles from the simulator's websocket (the real ccxt.pro client on
loopback): the stream is dropped mid-candle, REST fills the candles it missed, the stream is
subscribed again, and the candles come out contiguous, none twice."""

from __future__ import annotations

import asyncio
from itertools import pairwise

from rampart.domain.candles import Candle
from rampart.venues.ccxt_client import make_client
from rampart_testkit.simulator.streams import streams_of
from tests.exchange.test_feed import KLINES, feed_rig

MINUTE = 60_000


def test_a_dropped_stream_reconnects_and_rest_fills_the_gap() -> None:
    async def go() -> None:
        async with feed_rig() as r:
            ws = make_client("binance", api_url=r.sim.url, pro=True, timeout_s=5)
            r.feed.ws_client, r.feed.use_websocket = ws, True
            states: list[str] = []
            r.feed.on_ws_state = states.append  # rampart_feed_websocket_state
            app_streams = streams_of(r.sim.context)  # the simulator's open websockets
            got: list[Candle] = []
            klines_at_drop = 0
            async for candle in r.feed.candles():
                got.append(candle)
                if len(got) == 4:
                    # Mid-candle: the next one is forming on the stream. Drop every websocket
                    # and let three candles close while the feed is cut off.
                    assert states[-1] == "connected"
                    klines_at_drop = r.sim.context.requests[KLINES]
                    assert await app_streams.drop() >= 1
                    await r.advance(3)
                elif len(got) >= 12:
                    break
                else:
                    await r.advance(1)
            await ws.close()
            ts = [c.ts for c in got]
            assert len(ts) == len(set(ts))  # none twice
            assert all(b.ts - a.ts == MINUTE for a, b in pairwise(got))  # no gap
            assert r.feed.ws_failures == 1
            assert states.count("connected") == 2 and "polling" in states  # back on the stream
            assert app_streams.opened >= 2  # subscribed again
            assert r.sim.context.requests[KLINES] > klines_at_drop  # the gap came over REST

    asyncio.run(go())

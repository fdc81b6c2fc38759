"""The ccxt feed against the simulator on a SimClock: closed candles, backfill, staleness."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from itertools import pairwise

from rampart.clock import SimClock
from rampart.domain.candles import Candle
from rampart.market.ccxt_feed import CcxtFeed
from rampart.venues.ccxt_client import make_client
from rampart.venues.retry import RetryPolicy
from rampart.wiring.venues import stale_marker
from rampart_testkit.simulator import ccxt_client, start_simulator
from rampart_testkit.simulator.runner import SimulatorHandle

MINUTE = 60_000
KLINES = "/api/v3/klines"


@dataclass
class FeedRig:
    sim: SimulatorHandle
    feed: CcxtFeed
    clock: SimClock
    changes: list[tuple[str, bool]] = field(default_factory=list)

    async def advance(self, candles: int) -> None:
        await self.sim.advance(candles)
        self.clock.set(max(self.clock.now_ms(), self.sim.exchange.now_ms))


@asynccontextmanager
async def feed_rig(
    symbols: tuple[str, ...] = ("BTC/USDT",), warm: int = 5, **kw
) -> AsyncIterator[FeedRig]:
    async with start_simulator(symbols=symbols) as sim:
        await sim.advance(warm)
        clock = SimClock(sim.exchange.now_ms)
        changes: list[tuple[str, bool]] = []
        client = ccxt_client(sim.url, enableRateLimit=False, timeout=2000)
        feed = CcxtFeed(
            client,
            symbols,
            clock=clock,
            poll_every_s=5,
            stale_after_s=120,
            on_stale=lambda s, stale: changes.append((s, stale)),
            policy=RetryPolicy(attempts=1),
            **kw,
        )
        try:
            yield FeedRig(sim, feed, clock, changes)
        finally:
            await feed.close()


def _contiguous(candles: list[Candle]) -> bool:
    return all(b.ts - a.ts == MINUTE for a, b in pairwise(candles))


def test_closed_candles_in_order_without_duplicates() -> None:
    async def go() -> None:
        async with feed_rig() as r:
            first, ok = await r.feed.poll_once()
            assert ok and [c.close_ts for c in first] == [r.clock.now_ms()]  # the last closed
            again, _ = await r.feed.poll_once()
            assert again == []
            await r.advance(4)
            batch, _ = await r.feed.poll_once()
            assert len(batch) == 4 and _contiguous(first + batch)
            assert all(c.close_ts <= r.clock.now_ms() for c in batch)
            last = r.sim.exchange.tape.last("BTC/USDT")
            assert (batch[-1].ts, batch[-1].close) == (last.ts, last.close)

    asyncio.run(go())


def test_a_forming_candle_is_never_emitted() -> None:
    async def go() -> None:
        async with feed_rig() as r:
            await r.feed.poll_once()
            await r.advance(2)
            # The feed's clock is behind the exchange: the newest bar has not closed for it.
            lagging = CcxtFeed(
                r.feed.client,
                ["BTC/USDT"],
                clock=SimClock(r.clock.now_ms() - 1),
                since_ms=r.clock.now_ms() - 3 * MINUTE,
            )
            batch, _ = await lagging.poll_once()
            now = r.clock.now_ms()
            assert [c.close_ts for c in batch] == [now - 2 * MINUTE, now - MINUTE]

    asyncio.run(go())


def test_a_disconnection_marks_stale_then_backfills_every_missed_candle() -> None:
    async def go() -> None:
        async with feed_rig(page_limit=7) as r:
            seen, _ = await r.feed.poll_once()
            r.sim.faults.add("drop", paths=[KLINES])
            for _ in range(30):  # half an hour without data
                await r.advance(1)
                batch, ok = await r.feed.poll_once()
                assert batch == [] and not ok
            assert r.changes == [("BTC/USDT", True)]
            assert r.feed.stale == {"BTC/USDT"} and r.feed.age_s("BTC/USDT") >= 1800
            r.sim.faults.clear()
            batch, ok = await r.feed.poll_once()
            assert ok and len(batch) == 30 and _contiguous(seen + batch)  # five pages
            assert r.changes == [("BTC/USDT", True), ("BTC/USDT", False)]
            assert r.feed.failures == 30 and r.feed.gaps == 0

    asyncio.run(go())


def test_staleness_bound_and_the_engine_marker() -> None:
    async def go() -> None:
        async with feed_rig() as r:
            await r.feed.poll_once()
            stale_symbols: set[str] = set()
            r.feed.on_stale = stale_marker(stale_symbols)
            r.clock.advance(MINUTE + 120_000)  # exactly at the bound: still fresh
            await r.feed.poll_once()
            assert stale_symbols == set()
            r.clock.advance(1)
            await r.feed.poll_once()  # the exchange has released nothing new
            assert stale_symbols == {"BTC/USDT"}
            await r.advance(5)
            await r.feed.poll_once()
            assert stale_symbols == set()

    asyncio.run(go())


def test_two_symbols_come_in_time_order_and_stale_alone() -> None:
    async def go() -> None:
        async with feed_rig(symbols=("BTC/USDT", "ETH/USDT")) as r:
            await r.feed.poll_once()
            await r.advance(3)
            batch, _ = await r.feed.poll_once()
            assert [(c.ts, c.symbol) for c in batch] == sorted((c.ts, c.symbol) for c in batch)
            assert len(batch) == 6
            await r.advance(10)
            # BTC is asked first and its request fails: ETH's candles still come, BTC's
            # follow in the next round, all of them.
            r.sim.faults.add("error", paths=[KLINES], count=1)
            batch, ok = await r.feed.poll_once()
            assert not ok and {c.symbol for c in batch} == {"ETH/USDT"}
            await r.advance(1)
            batch, ok = await r.feed.poll_once()
            assert ok and [c.symbol for c in batch].count("BTC/USDT") == 11

    asyncio.run(go())


def test_tickers_by_polling() -> None:
    async def go() -> None:
        async with feed_rig() as r:
            ticker = await r.feed.fetch_ticker("BTC/USDT")
            assert ticker.last == r.sim.exchange.last_price("BTC/USDT")

    asyncio.run(go())


def test_the_stream_polls_and_reconnects_with_backoff() -> None:
    async def go() -> None:
        async with feed_rig() as r:
            got: list[Candle] = []
            r.sim.faults.add("error", paths=[KLINES], count=3)  # three 503s in a row
            states: list[str] = []
            r.feed.on_ws_state = states.append
            await r.advance(4)
            start = r.clock.now_ms()
            async for candle in r.feed.candles():
                got.append(candle)
                if len(got) == 5:
                    break
            assert _contiguous(got) and r.feed.failures == 3
            assert r.clock.now_ms() > start  # the retries waited on the clock
            assert states == ["off"]  # no websocket asked for: told once

    asyncio.run(go())


def test_the_websocket_falls_back_to_polling_when_it_cannot_connect() -> None:
    async def go() -> None:
        async with feed_rig() as r:
            # The real ccxt.pro client, its stream pointed at a port where nothing listens.
            ws = make_client("binance", api_url=r.sim.url, pro=True, timeout_s=2)
            ws.urls["api"]["ws"]["spot"] = "ws://127.0.0.1:1/ws"
            r.feed.ws_client, r.feed.use_websocket = ws, True
            states: list[str] = []
            r.feed.on_ws_state = states.append  # rampart_feed_websocket_state
            await r.advance(3)
            got: list[Candle] = []
            async for candle in r.feed.candles():
                got.append(candle)
                if len(got) == 4:  # caught up over REST; the stream is tried next
                    await r.advance(2)
                if len(got) == 6:
                    break
            assert _contiguous(got) and len(got) == 6
            assert r.feed.ws_failures == 1
            assert states[-1] == "polling" and "connected" not in states
            await ws.close()

    asyncio.run(go())


def test_spoiled_candle_answers_are_skipped_and_backfilled() -> None:
    async def go() -> None:
        async with feed_rig() as r:
            seen, _ = await r.feed.poll_once()
            for fault in ("malformed", "truncated"):
                r.sim.faults.add(fault, paths=[KLINES], count=1)
                await r.advance(3)
                batch, _ = await r.feed.poll_once()
                assert batch == []
                batch, ok = await r.feed.poll_once()
                assert ok and len(batch) == 3
                seen += batch
            assert _contiguous(seen)

    asyncio.run(go())


def test_the_websocket_state_is_told_before_the_first_candle() -> None:
    """Once, rampart_feed_websocket_state read ``not_used`` for the first minute of a
    service on an exchange feed (nothing was told until the feed's first candle)."""

    async def told(**kw: bool) -> list[str]:
        async with feed_rig(**kw) as r:
            states: list[str] = []
            r.feed.on_ws_state = states.append
            return states

    assert asyncio.run(told()) == ["off"]
    assert asyncio.run(told(use_websocket=True)) == ["connecting"]  # until it is tried

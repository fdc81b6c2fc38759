"""The venue's order streams as ``rampart run`` and a worker start them: the real ccxt.pro client
against the simulator's user data stream, the websocket killed mid-way, REST in the gap.

What is proven: a fill arrives by the stream and is applied once by the next poll, without a
REST request, and a poll after it reports nothing again; while the stream is open a resting order
is polled only at the safety pace; the simulator drops its websockets → the account's state is
``polling`` and every poll asks REST again; a fill made during the gap is learnt over REST; the
stream reopens (its back-off held by the test, not slept), a fill made after the last poll is
read over REST by the first poll after it is subscribed, and the state is ``streaming`` again;
the next fill comes by the stream. No fill is reported twice or missed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime
from typing import Any

from rampart.clock import SimClock
from rampart.domain.orders import OrderType, Side
from rampart.venues.ccxt_client import make_client
from rampart_testkit.simulator.streams import streams_of
from tests.exchange.helpers import Rig, rig, sim_client

OPEN_ORDERS = "/api/v3/openOrders"


class HeldClock:
    """The rig's clock, except that the stream's back-off waits until the test lets it go:
    the gap after a drop lasts exactly as long as the test needs."""

    def __init__(self, clock: SimClock) -> None:
        self.clock = clock
        self.go = asyncio.Event()
        self.waiting = 0

    def now_ms(self) -> int:
        return self.clock.now_ms()

    def now(self) -> datetime:
        return self.clock.now()

    async def sleep(self, seconds: float) -> None:
        self.waiting += 1
        await self.go.wait()
        self.go.clear()


def _twin(r: Rig) -> Any:
    """The account's ccxt.pro client, with its REST client's key (as the wiring builds it)."""

    def twin(client: Any) -> Any:
        return make_client(
            "binance", api_key=client.apiKey, secret=client.secret, api_url=r.sim.url, pro=True
        )

    return twin


def _heard(venue: Any) -> int:
    """Order updates the venue's streams have received so far."""
    stream = venue.streams.stream
    return stream.received if stream is not None else 0


def _buy_above(r: Rig) -> Any:
    """A limit buy above the market: it rests until the next candle, then fills."""
    return r.order(kind=OrderType.LIMIT, price=r.price() * 2, side=Side.BUY)


def test_fills_by_the_stream_and_by_rest_in_the_gap_are_each_reported_once() -> None:
    async def go() -> None:
        async with rig() as r:
            held = HeldClock(r.clock)
            venue = r.venue
            venue.streams.clock = held  # type: ignore[assignment]
            venue.streams.twin = _twin(r)
            states: list[str] = []
            assert await venue.start_order_stream(on_state=lambda a, s: states.append(s))
            await _until(lambda: states == ["streaming"])  # signed in: an idle account streams
            polled = r.sim.context.requests
            # 1. A fill by the stream, no poll asked; a poll after it reports nothing again.
            first = _buy_above(r)
            await venue.submit(first)
            before = polled[OPEN_ORDERS]
            await r.advance(1)
            await _until(lambda: _heard(venue) >= 2)  # its acknowledgement and its fill
            assert not r.fills(first.client_id)  # kept until the candle's poll applies it
            await venue.poll()
            assert len(r.fills(first.client_id)) == 1
            assert polled[OPEN_ORDERS] == before
            await venue.refresh()
            await venue.poll()
            assert len(r.fills(first.client_id)) == 1
            # 2. Streaming, a resting order is polled at the safety pace, not every candle.
            resting = r.order(kind=OrderType.LIMIT, price=r.price() / 2, side=Side.BUY)
            await venue.submit(resting)
            await venue.poll()  # the first poll of an account: its baseline
            before = polled[OPEN_ORDERS]
            for _ in range(3):
                r.clock.advance(60_000 // 4)
                await venue.poll()
            assert polled[OPEN_ORDERS] == before
            r.clock.advance(60_000)
            await venue.poll()
            assert polled[OPEN_ORDERS] == before + 1
            # 3. The websocket killed: the state is polling and each candle's poll asks REST.
            assert await streams_of(r.sim.context).drop() >= 1
            await _until(lambda: held.waiting == 1)
            assert states[-1] == "polling" and venue.streams.states() == {"a1": "polling"}
            gap = _buy_above(r)
            await venue.submit(gap)
            await r.advance(1)  # it fills while no stream listens
            before = polled[OPEN_ORDERS]
            await venue.poll()
            assert polled[OPEN_ORDERS] == before + 1
            assert len(r.fills(gap.client_id)) == 1  # learnt by REST
            # 4. The stream reopens; a fill after the last poll and before the new subscription
            #    is read over REST once it is subscribed; then the next fill by the stream.
            unseen = _buy_above(r)
            await venue.submit(unseen)
            await r.advance(1)
            before = polled[OPEN_ORDERS]
            held.go.set()
            await _until(lambda: states[-1] == "streaming")
            await venue.poll()  # the next candle's: the account was subscribed again
            assert len(r.fills(unseen.client_id)) == 1 and polled[OPEN_ORDERS] == before + 1
            assert states == ["streaming", "polling", "streaming"]
            last = _buy_above(r)
            await venue.submit(last)
            before, heard = polled[OPEN_ORDERS], _heard(venue)
            await r.advance(1)
            await _until(lambda: _heard(venue) >= heard + 2)
            await venue.streams.apply_received()  # what the candle's poll does first
            assert len(r.fills(last.client_id)) == 1
            assert polled[OPEN_ORDERS] == before  # by the stream again
            await venue.refresh()
            for order in (first, gap, unseen, last):
                fills = r.fills(order.client_id)
                assert len(fills) == 1 and fills[0].qty == order.qty
            assert len({f.fill_id for f in r.fills()}) == len(r.fills()) == 4
            assert venue.followed_orders("a1") == 1  # the resting one, still open
            await venue.stop_order_stream()
            assert venue.streams.states() == {}

    asyncio.run(go())


def test_a_venue_without_streams_polls_every_candle() -> None:
    async def go() -> None:
        async with rig() as r:
            assert not await r.venue.start_order_stream()  # no ws clients: none offered
            resting = r.order(kind=OrderType.LIMIT, price=r.price() / 2, side=Side.BUY)
            await r.venue.submit(resting)
            before = r.sim.context.requests[OPEN_ORDERS]
            for _ in range(3):
                r.clock.advance(1_000)
                await r.venue.poll()
            assert r.sim.context.requests[OPEN_ORDERS] == before + 3

    asyncio.run(go())


def test_a_key_connected_while_the_streams_run_is_streamed_until_disconnected() -> None:
    async def go() -> None:
        async with rig() as r:
            venue = r.venue
            venue.streams.twin = _twin(r)
            states: list[tuple[str, str]] = []
            assert await venue.start_order_stream(on_state=lambda a, s: states.append((a, s)))
            assert not await venue.start_order_stream()  # once
            key, secret = r.sim.create_account({"USDT": "1000"}, account_id="inv")
            venue.add_client("inv", sim_client(r.sim, key, secret))  # an investor's own key
            await _until(lambda: venue.streams.states().get("inv") == "streaming")
            await venue.remove_client("inv")
            assert ("inv", "") in states and "inv" not in venue.streams.states()
            assert venue.streams.states() == {"a1": "streaming"}
            await venue.stop_order_stream()
            assert not venue.streams.running and venue.streams.states() == {}

    asyncio.run(go())


async def _until(done: Callable[[], bool]) -> None:
    """Wait for news from the stream (it arrives on the loop, not on a clock)."""
    for _ in range(1000):
        if done():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the stream never brought it")

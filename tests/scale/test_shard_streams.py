"""A worker's shard on an exchange opens its accounts' order streams when it is taken and closes
them when it is handed back or lost; while the lease is not this worker's, an update that
arrives on the stream is applied nowhere (the next holder learns it from the exchange).

The real ccxt and ccxt.pro clients against the exchange simulator, on SQLite."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

from rampart.clock import SimClock
from rampart.config import load_settings
from rampart.domain.orders import Order, OrderRole, OrderType, Side, client_order_id
from rampart.fleet.shard import ShardTrader
from rampart.observability.metrics import Metrics
from rampart.wiring.fleet_parts import shard_trader
from rampart.wiring.venue_kinds import load_instruments
from rampart_testkit.simulator import start_simulator
from rampart_testkit.simulator.runner import SimulatorHandle
from rampart_testkit.simulator.streams import streams_of

SYMBOL = "BTC/USDT"


def _settings(tmp_path: Path, url: str, key: str, secret: str, **venue: Any) -> Any:
    return load_settings(
        store={"url": f"sqlite:///{tmp_path / 'rampart.db'}"},
        feed={"symbols": [SYMBOL]},
        venue={
            "kind": "ccxt",
            "api_url": url,
            "rate_limit_ms": 1,
            "request_timeout_s": 2,
            "credentials": {"a1": {"api_key": key, "secret": secret}},
            **venue,
        },
        accounts=[{"id": "a1", "agent": "trend", "symbols": [SYMBOL], "capital": "1000"}],
        alerts={"enabled": False},
        api={"enabled": False},
        scale={"shards": 1},
    )


async def _trader(tmp_path: Path, sim: SimulatorHandle, **venue: Any) -> ShardTrader:
    key, secret = sim.create_account({"USDT": "10000"}, account_id="a1")
    settings = _settings(tmp_path, sim.url, key, secret, **venue)
    instruments = await load_instruments(settings, [SYMBOL])
    trader = shard_trader(
        settings,
        0,
        1,
        SimClock(sim.exchange.now_ms),
        instruments,
        db=None,
        fence=lambda conn: None,
        wrap_venue=lambda v: v,
    )
    await trader.take([])
    return trader


def _buy_above(sim: SimulatorHandle) -> Order:
    return Order(
        client_id=client_order_id("a1", 1, OrderRole.ENTRY),
        account_id="a1",
        symbol=SYMBOL,
        side=Side.BUY,
        type=OrderType.LIMIT,
        qty=Decimal("0.01"),
        role=OrderRole.ENTRY,
        price=sim.exchange.last_price(SYMBOL) * 2,
    )


def test_a_taken_shard_streams_its_orders_and_stops_when_handed_back(tmp_path: Path) -> None:
    async def go() -> None:
        async with start_simulator(symbols=[SYMBOL]) as sim:
            await sim.advance(3)
            trader = await _trader(tmp_path, sim)
            streams = Metrics(venue="binance").order_streams
            assert await trader.start_streams(streams, lambda: True)
            await _until(lambda: streams.counts() == {"streaming": 1, "polling": 0})
            assert streams_of(sim.context).sockets  # the user data stream is open
            venue = trader.session.venue
            order = _buy_above(sim)
            await venue.submit(order)
            await sim.advance(1)
            await _until(lambda: venue.streams.stream.received >= 2)  # heard by the stream
            await venue.poll()  # the candle's poll applies it (no REST: the stream is open)
            assert venue.followed_orders("a1") == 0  # filled, by the stream
            assert venue.streams.stream.updates >= 1
            assert await trader.hand_back(lambda: True)
            assert not venue.streams.running
            assert streams.counts() == {"streaming": 0, "polling": 0}
            await _until(lambda: not streams_of(sim.context).sockets)  # closed on the server too

    asyncio.run(go())


def test_a_shard_no_longer_held_applies_nothing_its_stream_brings(tmp_path: Path) -> None:
    async def go() -> None:
        async with start_simulator(symbols=[SYMBOL]) as sim:
            await sim.advance(3)
            trader = await _trader(tmp_path, sim)
            held = [True]
            streams = Metrics(venue="binance").order_streams
            assert await trader.start_streams(streams, lambda: held[0])
            await _until(lambda: streams.counts()["streaming"] == 1)
            venue = trader.session.venue
            order = _buy_above(sim)
            await venue.submit(order)
            held[0] = False  # the lease is another worker's from here
            ws = venue.streams.stream.clients["a1"]
            await sim.advance(1)  # it fills; the stream tells this worker anyway
            await _until(lambda: any(o.get("status") == "closed" for o in (ws.orders or [])))
            for _ in range(10):
                await asyncio.sleep(0)
            await venue.streams.apply_received()
            assert venue.followed_orders("a1") == 1  # nothing applied
            assert venue.streams.stream.updates == venue.streams.stream.received == 0
            await trader.drop()
            assert not venue.streams.running and streams.counts()["streaming"] == 0

    asyncio.run(go())


def test_with_use_order_stream_off_a_shard_polls_as_before(tmp_path: Path) -> None:
    async def go() -> None:
        async with start_simulator(symbols=[SYMBOL]) as sim:
            await sim.advance(3)
            trader = await _trader(tmp_path, sim, use_order_stream=False)
            streams = Metrics(venue="binance").order_streams
            assert not await trader.start_streams(streams, lambda: True)
            assert not streams.started and not streams_of(sim.context).opened
            await trader.drop()

    asyncio.run(go())


async def _until(done: Callable[[], bool]) -> None:
    """Wait for the loopback websocket (news arrives on the loop, not on a clock)."""
    for _ in range(1000):
        if done():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("it never happened")

"""Request weight per account-hour: candles and orders by websocket against polling.

Runs the ccxt feed against the exchange simulator (in this process, the real ccxt and
ccxt.pro clients on loopback) for an hour of 1-minute candles on a simulated clock, once
polling (``feed.use_websocket: false``) and once streaming (the default), and counts the
REST request weight the simulator charged (Binance's weights). Streams cost no REST weight;
the streaming run pays for its catch-up over REST and for the candles a dropped stream
missed (``--drops`` drops of the websocket during the hour).

The order side: one account's CcxtVenue for an hour, polled before every candle of every
symbol as the engine polls it, with an order resting on each symbol all hour (a bracket's leg)
and an order that fills every ten minutes on each; once with its order stream off
(``venue.use_order_stream: false``: every poll asks ``openOrders``, weight 6 per symbol) and
once with it open (polls at the safety pace, ``venue.order_stream_poll_s``; the gap after each
of ``--drops`` drops polled at the candle's pace). Both runs must report the same fills.

Prints the weight per hour for each and the saving. Asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
from decimal import Decimal
from typing import Any

from rampart.clock import SimClock
from rampart.domain.orders import Order, OrderRole, OrderType, Side, client_order_id
from rampart.market.ccxt_feed import CcxtFeed
from rampart.trading.ports import VenueReport
from rampart.venues.ccxt_client import make_client
from rampart.venues.ccxt_streaming import SAFETY_POLL_S
from rampart.venues.ccxt_venue import CcxtVenue
from rampart.venues.retry import RetryPolicy
from rampart_testkit.simulator import ccxt_client, start_simulator
from rampart_testkit.simulator.streams import streams_of

HOUR_CANDLES = 60


async def one_hour(symbols: list[str], stream: bool, drops: int) -> tuple[int, int]:
    """(REST weight charged, candles received) over an hour of candles."""
    async with start_simulator(symbols=symbols) as sim:
        await sim.advance(5)
        charged = [0]
        weights = sim.context.weights
        original = weights.charge

        def charge(address: str, now_ms: int, cost: int) -> Any:
            charged[0] += cost
            return original(address, now_ms, cost)

        weights.charge = charge  # type: ignore[method-assign]
        clock = SimClock(sim.exchange.now_ms)
        rest = ccxt_client(sim.url, enableRateLimit=False, timeout=5000)
        ws = make_client("binance", api_url=sim.url, pro=True, timeout_s=5) if stream else None
        feed = CcxtFeed(
            rest,
            symbols,
            clock=clock,
            poll_every_s=5,
            policy=RetryPolicy(attempts=1),
            use_websocket=stream,
            ws_client=ws,
        )
        wanted = HOUR_CANDLES * len(symbols)
        drop_every = HOUR_CANDLES // (drops + 1) if drops else 0
        got = 0
        try:
            async for _candle in feed.candles():
                got += 1
                if got >= wanted:
                    break
                if got % len(symbols):
                    continue
                step = got // len(symbols)
                if drop_every and stream and step % drop_every == 0:
                    await streams_of(sim.context).drop()
                await sim.advance(1)
                clock.set(max(clock.now_ms(), sim.exchange.now_ms))
        finally:
            await feed.close()
        return charged[0], got


def _counting(sim: Any) -> list[int]:
    charged = [0]
    weights = sim.context.weights
    original = weights.charge

    def charge(address: str, now_ms: int, cost: int) -> Any:
        charged[0] += cost
        return original(address, now_ms, cost)

    weights.charge = charge
    return charged


async def _news(done: Any) -> None:
    """Wait for the loopback websocket (news arrives on the loop, not on a clock)."""
    for _ in range(500):
        if done():
            return
        await asyncio.sleep(0.01)


async def order_hour(
    symbols: list[str], stream: bool, drops: int, safety_s: float
) -> tuple[int, int]:
    """(REST weight charged, fills reported) for one account over an hour of candles."""
    async with start_simulator(symbols=symbols) as sim:
        await sim.advance(5)
        key, secret = sim.create_account({"USDT": "1000000"}, account_id="a1")
        clock = SimClock(sim.exchange.now_ms)
        rest = ccxt_client(sim.url, key, secret, enableRateLimit=False, timeout=5000)

        def twin(client: Any) -> Any:
            return make_client(
                "binance",
                api_key=client.apiKey,
                secret=client.secret,
                api_url=sim.url,
                pro=True,
                timeout_s=5,
            )

        venue = CcxtVenue(
            {"a1": rest},
            clock=clock,
            policy=RetryPolicy(attempts=1),
            stream_twin=twin if stream else None,
            stream_poll_s=safety_s,
        )
        reports: list[VenueReport] = []
        venue.set_listener(reports.append)
        await venue.load(symbols)
        seq = [0]

        def order(symbol: str, price: Decimal) -> Order:
            seq[0] += 1
            return Order(
                client_id=client_order_id("a1", seq[0], OrderRole.ENTRY),
                account_id="a1",
                symbol=symbol,
                side=Side.BUY,
                type=OrderType.LIMIT,
                qty=Decimal("0.01"),
                role=OrderRole.ENTRY,
                price=price,
            )

        try:
            if stream:
                await venue.start_order_stream()
                await _news(lambda: venue.streams.states().get("a1") == "streaming")
            charged = _counting(sim)
            for symbol in symbols:  # resting all hour, far below the market
                await venue.submit(order(symbol, sim.exchange.last_price(symbol) / 2))
            drop_every = HOUR_CANDLES // (drops + 1) if drops else 0
            for minute in range(HOUR_CANDLES):
                if minute % 10 == 0:  # fills on the next candle
                    for symbol in symbols:
                        await venue.submit(order(symbol, sim.exchange.last_price(symbol) * 2))
                if stream and drop_every and minute and minute % drop_every == 0:
                    await streams_of(sim.context).drop()
                await sim.advance(1)
                clock.set(max(clock.now_ms(), sim.exchange.now_ms))
                if stream:
                    await asyncio.sleep(0.03)  # the stream's news of this candle, if any
                for _symbol in symbols:  # the engine polls before each symbol's candle
                    await venue.poll()
            wanted = 6 * len(symbols)
            await _news(lambda: sum(1 for r in reports if r.fill) >= wanted)
            await venue.poll()
            return charged[0], sum(1 for r in reports if r.fill)
        finally:
            await venue.aclose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--symbols", default="BTC/USDT,ETH/USDT")
    parser.add_argument("--drops", type=int, default=2, help="websocket drops in the hour")
    parser.add_argument(
        "--safety-s", type=float, default=SAFETY_POLL_S, help="order polls while streaming"
    )
    args = parser.parse_args()
    symbols = [s.strip() for s in args.symbols.split(",") if s.strip()]
    polled, n1 = asyncio.run(one_hour(symbols, stream=False, drops=0))
    streamed, n2 = asyncio.run(one_hour(symbols, stream=True, drops=args.drops))
    print(f"symbols: {', '.join(symbols)}; one hour of 1m candles ({n1} and {n2} received)")
    print(f"candles by polling:   {polled:5d} request weight per account-hour")
    print(
        f"candles by websocket: {streamed:5d} request weight per account-hour "
        f"({args.drops} drops, each gap filled over REST)"
    )
    if polled:
        print(f"saving: {100 * (polled - streamed) / polled:.0f} %")
    o_polled, f1 = asyncio.run(order_hour(symbols, stream=False, drops=0, safety_s=args.safety_s))
    o_streamed, f2 = asyncio.run(
        order_hour(symbols, stream=True, drops=args.drops, safety_s=args.safety_s)
    )
    print(f"orders: one resting per symbol all hour, one filled every 10 min ({f1} and {f2} fills)")
    print(f"orders by polling:    {o_polled:5d} request weight per account-hour")
    print(
        f"orders by stream:     {o_streamed:5d} request weight per account-hour "
        f"(safety poll every {args.safety_s:g} s, {args.drops} drops)"
    )
    if o_polled:
        print(f"saving: {100 * (o_polled - o_streamed) / o_polled:.0f} %")


if __name__ == "__main__":
    main()

"""The symbol filters Binance sends and enforces beyond price, lot and notional: MARKET_LOT_SIZE,
PERCENT_PRICE_BY_SIDE, MAX_NUM_ORDERS, MAX_NUM_ALGO_ORDERS, ICEBERG_PARTS and TRAILING_DELTA.

Rampart reads them from exchangeInfo and refuses, in one sentence, an order the exchange would
refuse, before sending it; the simulator sends them and refuses with Binance's own code and
message (``Filter failure: …``, -1013)."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import ccxt.async_support as ccxt_async
import pytest

from rampart.domain.errors import VenueError
from rampart.domain.orders import Order, OrderRole, OrderType, Side

from .helpers import SYMBOL, Rig, rig

D = Decimal
ORDER = "/api/v3/order"
TICK = D("0.01")


def _posts(r: Rig) -> int:
    return r.sim.context.requests[ORDER] + r.sim.context.requests["/api/v3/orderList/oco"]


def _stop(r: Rig, qty: str, factor: str) -> Order:
    return r.order(
        side=Side.SELL,
        kind=OrderType.STOP_MARKET,
        qty=qty,
        stop=(r.price() * D(factor)).quantize(TICK),
        role=OrderRole.STOP_LOSS,
    )


def test_exchange_info_carries_every_filter_and_the_venue_reads_them() -> None:
    async def go() -> None:
        async with rig() as r:
            rules = r.venue.instrument(SYMBOL).rules
            assert rules.max_algo_orders == 5 and rules.max_orders == 200
            assert rules.market_max_qty == D("128.52621715") and rules.market_step == 0
            assert (rules.bid_up, rules.bid_down, rules.ask_up, rules.ask_down) == (
                D(5),
                D("0.2"),
                D(5),
                D("0.2"),
            )
            assert rules.avg_price_mins == 5 and rules.iceberg_parts == 10
            assert (rules.min_trailing_below, rules.max_trailing_below) == (10, 2000)

    asyncio.run(go())


def test_a_stop_beyond_the_algo_order_cap_is_refused_before_it_is_sent() -> None:
    async def go() -> None:
        async with rig() as r:
            await r.venue.submit(r.order(qty="0.02"))
            for i in range(5):  # five stops rest: Binance's cap on BTCUSDT
                await r.venue.submit(_stop(r, "0.003", f"0.9{i}"))
            sent = _posts(r)
            with pytest.raises(VenueError) as info:
                await r.venue.submit(_stop(r, "0.003", "0.95"))
            assert info.value.code == "max_algo_orders"
            assert "5 stop" in info.value.message and "\n" not in info.value.message
            assert _posts(r) == sent  # refused here: the exchange never saw it
            # The exchange refuses it too, in Binance's words.
            client = r.venue.client("a1")
            with pytest.raises(ccxt_async.ExchangeError, match="MAX_NUM_ALGO_ORDERS"):
                trigger = float((r.price() * D("0.9")).quantize(TICK))
                await client.create_order(
                    SYMBOL, "market", "sell", 0.003, None, {"triggerPrice": trigger}
                )

    asyncio.run(go())


def test_a_price_outside_percent_price_by_side_is_refused_before_it_is_sent() -> None:
    async def go() -> None:
        async with rig() as r:
            await r.venue.submit(r.order(qty="0.02"))
            far = r.order(
                side=Side.SELL,
                kind=OrderType.LIMIT,
                qty="0.01",
                price=(r.price() * 6).quantize(TICK),  # askMultiplierUp is 5
            )
            sent = _posts(r)
            with pytest.raises(VenueError) as info:
                await r.venue.submit(far)
            assert info.value.code == "percent_price"
            assert "average price" in info.value.message
            assert _posts(r) == sent
            client = r.venue.client("a1")
            with pytest.raises(ccxt_async.ExchangeError, match="PERCENT_PRICE_BY_SIDE"):
                await client.create_order(SYMBOL, "limit", "sell", 0.01, float(far.price))

    asyncio.run(go())


def test_a_market_order_beyond_market_lot_size_is_refused_before_it_is_sent() -> None:
    async def go() -> None:
        async with rig(accounts={"a1": {"USDT": "10000000"}}) as r:
            sent = _posts(r)
            with pytest.raises(VenueError) as info:
                await r.venue.submit(r.order(qty="130"))  # MARKET_LOT_SIZE maxQty 128.52621715
            assert info.value.code == "market_lot"
            assert "128.52621715" in info.value.message
            assert _posts(r) == sent
            client = r.venue.client("a1")
            with pytest.raises(ccxt_async.ExchangeError, match="MARKET_LOT_SIZE"):
                await client.create_order(SYMBOL, "market", "buy", 130)

    asyncio.run(go())


def test_an_oco_counts_its_stop_toward_the_cap_and_is_refused_whole() -> None:
    async def go() -> None:
        async with rig() as r:
            await r.venue.submit(r.order(qty="0.03"))
            for i in range(5):
                await r.venue.submit(_stop(r, "0.003", f"0.9{i}"))
            stop = _stop(r, "0.005", "0.95")
            take = r.order(
                side=Side.SELL,
                kind=OrderType.LIMIT,
                qty="0.005",
                price=(r.price() * D("1.05")).quantize(TICK),
                role=OrderRole.TAKE_PROFIT,
            )
            stop.oco_group = take.oco_group = stop.client_id
            sent = _posts(r)
            with pytest.raises(VenueError) as info:
                await r.venue.submit_oco(stop, take)
            assert info.value.code == "max_algo_orders"
            assert _posts(r) == sent
            assert {t.client_id for t in r.venue.tracked()} & {
                stop.client_id,
                take.client_id,
            } == set()

    asyncio.run(go())

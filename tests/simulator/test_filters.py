"""The simulator sends the symbol filters a real BTCUSDT carries and refuses what they forbid,
with Binance's code (-1013) and message (``Filter failure: <FILTER>``)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import ccxt.async_support as ccxt_async
import pytest

from rampart_testkit.simulator import SimulatorHandle
from tests.simulator.helpers import with_sim

D = Decimal
CENT = D("0.01")


async def _refused(sim: SimulatorHandle, call: Any, message: str) -> None:
    with pytest.raises(ccxt_async.ExchangeError, match=f"Filter failure: {message}"):
        await call
    assert sim.context.errors[400] > 0  # a 4XX answer, as Binance gives


def test_exchange_info_lists_every_filter_binance_sets_on_the_symbol() -> None:
    async def body(sim: SimulatorHandle, ex: Any) -> None:
        info = await ex.publicGetExchangeInfo({"symbol": "BTCUSDT"})
        filters = {f["filterType"]: f for f in info["symbols"][0]["filters"]}
        assert set(filters) >= {
            "PRICE_FILTER", "LOT_SIZE", "ICEBERG_PARTS", "MARKET_LOT_SIZE", "TRAILING_DELTA",
            "PERCENT_PRICE_BY_SIDE", "NOTIONAL", "MAX_NUM_ORDERS", "MAX_NUM_ALGO_ORDERS",
        }  # fmt: skip
        assert filters["MAX_NUM_ALGO_ORDERS"] == {
            "filterType": "MAX_NUM_ALGO_ORDERS",
            "maxNumAlgoOrders": 5,
        }
        assert filters["PERCENT_PRICE_BY_SIDE"]["askMultiplierUp"] == "5"
        assert filters["MARKET_LOT_SIZE"]["maxQty"] == "128.52621715"

    with_sim(body)


def test_the_sixth_stop_on_a_symbol_is_refused() -> None:
    async def body(sim: SimulatorHandle, ex: Any) -> None:
        await ex.create_order("BTC/USDT", "market", "buy", 0.02)
        last = sim.exchange.last_price("BTC/USDT")
        for i in range(5):
            trigger = float((last * D(f"0.9{i}")).quantize(CENT))
            await ex.create_order(
                "BTC/USDT", "market", "sell", 0.003, None, {"triggerPrice": trigger}
            )
        trigger = float((last * D("0.95")).quantize(CENT))
        await _refused(
            sim,
            ex.create_order("BTC/USDT", "market", "sell", 0.003, None, {"triggerPrice": trigger}),
            "MAX_NUM_ALGO_ORDERS",
        )
        # A limit order is no algo order: it may still rest.
        await ex.create_order("BTC/USDT", "limit", "sell", 0.001, float((last * 2).quantize(CENT)))

    with_sim(body)


def test_prices_far_from_the_average_and_oversized_market_orders_are_refused() -> None:
    async def body(sim: SimulatorHandle, ex: Any) -> None:
        last = sim.exchange.last_price("BTC/USDT")
        avg = await ex.publicGetAvgPrice({"symbol": "BTCUSDT"})
        assert avg["mins"] == 5 and D(avg["price"]) > 0
        low = float((D(avg["price"]) * D("0.19")).quantize(CENT))  # bidMultiplierDown 0.2
        await _refused(
            sim, ex.create_order("BTC/USDT", "limit", "buy", 0.001, low), "PERCENT_PRICE_BY_SIDE"
        )
        await ex.create_order(
            "BTC/USDT", "limit", "buy", 0.001, float((last * D("0.5")).quantize(CENT))
        )
        await _refused(sim, ex.create_order("BTC/USDT", "market", "buy", 130), "MARKET_LOT_SIZE")

    with_sim(body, balances={"USDT": "10000000"})


def test_iceberg_parts_and_trailing_delta_are_checked() -> None:
    async def body(sim: SimulatorHandle, ex: Any) -> None:
        price = float((sim.exchange.last_price("BTC/USDT") * D("0.5")).quantize(CENT))
        await _refused(
            sim,
            ex.create_order("BTC/USDT", "limit", "buy", 0.011, price, {"icebergQty": 0.001}),
            "ICEBERG_PARTS",  # 11 parts, 10 allowed
        )
        await _refused(
            sim,
            ex.privatePostOrder(
                {
                    "symbol": "BTCUSDT", "side": "SELL", "type": "STOP_LOSS",
                    "quantity": "0.001", "trailingDelta": "5",
                }
            ),
            "TRAILING_DELTA",  # 10 to 2000 basis points
        )  # fmt: skip

    with_sim(body)

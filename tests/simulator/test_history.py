"""Binance's answers in the details: history windows of at most 24 hours (-1127), a cancel's
own client id beside the order's, a stop's workingTime -1 until it triggers, commissions with
8 decimals."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import ccxt.async_support as ccxt_async
import pytest

from rampart_testkit.simulator import SimulatorHandle
from tests.simulator.helpers import with_sim

D = Decimal
HOUR = 3_600_000
CENT = D("0.01")


def test_history_windows_longer_than_24_hours_are_refused() -> None:
    async def body(sim: SimulatorHandle, ex: Any) -> None:
        await ex.create_order("BTC/USDT", "market", "buy", 0.001)
        end = sim.exchange.now_ms
        for call in (ex.privateGetAllOrders, ex.privateGetMyTrades):
            with pytest.raises(ccxt_async.BadRequest, match="More than 24 hours"):
                await call({"symbol": "BTCUSDT", "startTime": end - 30 * HOUR, "endTime": end})
            # 24 hours exactly is a window Binance accepts; so is a start or an end alone.
            assert (
                len(await call({"symbol": "BTCUSDT", "startTime": end - 24 * HOUR, "endTime": end}))
                == 1
            )
            assert len(await call({"symbol": "BTCUSDT", "startTime": end - 30 * HOUR})) == 1
        errors = sim.context.errors[400]
        assert errors == 2

    with_sim(body)


def test_a_cancel_answers_with_its_own_client_id_and_the_orders_as_orig() -> None:
    async def body(sim: SimulatorHandle, ex: Any) -> None:
        price = float((sim.exchange.last_price("BTC/USDT") * D("0.5")).quantize(CENT))
        await ex.create_order("BTC/USDT", "limit", "buy", 0.001, price, {"clientOrderId": "mine-1"})
        named = await ex.privateDeleteOrder(
            {"symbol": "BTCUSDT", "origClientOrderId": "mine-1", "newClientOrderId": "stop-it"}
        )
        assert (named["origClientOrderId"], named["clientOrderId"]) == ("mine-1", "stop-it")
        await ex.create_order("BTC/USDT", "limit", "buy", 0.001, price, {"clientOrderId": "mine-2"})
        unnamed = await ex.privateDeleteOrder({"symbol": "BTCUSDT", "origClientOrderId": "mine-2"})
        assert unnamed["origClientOrderId"] == "mine-2"
        assert unnamed["clientOrderId"] not in ("mine-2", "") and unnamed["status"] == "CANCELED"
        # The order keeps its own id: a query finds it by it.
        found = await ex.privateGetOrder({"symbol": "BTCUSDT", "origClientOrderId": "mine-2"})
        assert found["clientOrderId"] == "mine-2"

    with_sim(body)


def test_a_stop_is_not_working_until_it_triggers() -> None:
    async def body(sim: SimulatorHandle, ex: Any) -> None:
        await ex.create_order("BTC/USDT", "market", "buy", 0.0021)  # 0.002 after its fee
        last = sim.exchange.last_price("BTC/USDT")
        far = float((last * D("0.5")).quantize(CENT))
        placed = await ex.privatePostOrder(
            {
                "symbol": "BTCUSDT", "side": "SELL", "type": "STOP_LOSS", "quantity": "0.001",
                "stopPrice": str(far), "newClientOrderId": "far", "newOrderRespType": "RESULT",
            }
        )  # fmt: skip
        assert placed["workingTime"] == -1
        seen = await ex.privateGetOrder({"symbol": "BTCUSDT", "origClientOrderId": "far"})
        assert (seen["workingTime"], seen["isWorking"]) == (-1, False)
        near = float((last * D("0.9995")).quantize(CENT))
        await ex.create_order(
            "BTC/USDT",
            "market",
            "sell",
            0.001,
            None,
            {"triggerPrice": near, "clientOrderId": "near"},
        )
        for _ in range(300):
            await sim.advance(1)
            seen = await ex.privateGetOrder({"symbol": "BTCUSDT", "origClientOrderId": "near"})
            if seen["status"] == "FILLED":
                break
        assert seen["status"] == "FILLED" and seen["isWorking"] is True
        assert seen["workingTime"] >= seen["time"]

    with_sim(body)


def test_commissions_have_eight_decimals() -> None:
    async def body(sim: SimulatorHandle, ex: Any) -> None:
        await ex.create_order("BTC/USDT", "market", "buy", 0.00123)
        await ex.create_order("BTC/USDT", "market", "sell", 0.00122)
        for trade in await ex.privateGetMyTrades({"symbol": "BTCUSDT"}):
            assert re.fullmatch(r"\d+\.\d{8}", trade["commission"]), trade["commission"]

    with_sim(body)

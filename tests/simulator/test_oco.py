"""OCO order lists through ccxt's implicit API (orderList/oco and the older order/oco)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import ccxt.async_support as ccxt_async
import pytest

from rampart_testkit.simulator import SimulatorHandle
from tests.simulator.helpers import with_sim

BUY = 0.01002
"""Leaves at least 0.01 BTC once Binance has taken its commission from the BTC received."""
LEFT = Decimal("0.01002") - Decimal("0.00001002")


def _prices(sim: SimulatorHandle, below: str, above: str) -> tuple[str, str]:
    last = sim.exchange.last_price("BTC/USDT")
    cent = Decimal("0.01")
    return str((last * Decimal(below)).quantize(cent)), str((last * Decimal(above)).quantize(cent))


def test_oco_rests_both_legs_and_a_fill_expires_the_other() -> None:
    async def body(sim: SimulatorHandle, ex: Any) -> None:
        await ex.create_order("BTC/USDT", "market", "buy", BUY)
        stop, take = _prices(sim, "0.9999", "1.5")  # the stop is close: it will trigger
        result = await ex.privatePostOrderListOco(
            {
                "symbol": "BTCUSDT", "side": "SELL", "quantity": "0.01",
                "aboveType": "LIMIT_MAKER", "abovePrice": take, "aboveClientOrderId": "tp-1",
                "belowType": "STOP_LOSS", "belowStopPrice": stop, "belowClientOrderId": "sl-1",
                "listClientOrderId": "oco-1",
            }
        )  # fmt: skip
        assert result["listClientOrderId"] == "oco-1" and result["listOrderStatus"] == "EXECUTING"
        reports = {r["clientOrderId"]: r for r in result["orderReports"]}
        assert reports["tp-1"]["type"] == "LIMIT_MAKER"
        assert reports["sl-1"]["type"] == "STOP_LOSS"
        assert {r["orderListId"] for r in reports.values()} == {result["orderListId"]}
        # Both legs hold the same coins once.
        assert Decimal(str((await ex.fetch_balance())["BTC"]["used"])) == Decimal("0.01")
        assert len(await ex.privateGetOpenOrderList()) == 1
        for _ in range(200):
            await sim.advance(1)
            if not sim.exchange.open_orders(next(iter(sim.exchange.keys.values())), None):
                break
        sl = await ex.fetch_order(None, "BTC/USDT", params={"origClientOrderId": "sl-1"})
        tp = await ex.fetch_order(None, "BTC/USDT", params={"origClientOrderId": "tp-1"})
        assert sl["status"] == "closed" and tp["status"] == "expired"
        listed = await ex.privateGetOrderList({"orderListId": result["orderListId"]})
        assert listed["listOrderStatus"] == "ALL_DONE"
        assert await ex.privateGetOpenOrderList() == []
        assert Decimal(str((await ex.fetch_balance())["BTC"]["total"])) == LEFT - Decimal("0.01")

    with_sim(body)


def test_legacy_oco_and_cancel_of_the_list() -> None:
    async def body(sim: SimulatorHandle, ex: Any) -> None:
        await ex.create_order("BTC/USDT", "market", "buy", BUY)
        stop, take = _prices(sim, "0.8", "1.5")
        limit_below = str(Decimal(stop) - 5)
        result = await ex.privatePostOrderOco(
            {
                "symbol": "BTCUSDT", "side": "SELL", "quantity": "0.01", "price": take,
                "stopPrice": stop, "stopLimitPrice": limit_below,
                "stopLimitTimeInForce": "GTC", "listClientOrderId": "legacy",
            }
        )  # fmt: skip
        kinds = sorted(r["type"] for r in result["orderReports"])
        assert kinds == ["LIMIT_MAKER", "STOP_LOSS_LIMIT"]
        gone = await ex.privateDeleteOrderList({"symbol": "BTCUSDT", "listClientOrderId": "legacy"})
        assert gone["listOrderStatus"] == "ALL_DONE"
        assert {r["status"] for r in gone["orderReports"]} == {"CANCELED"}
        assert await ex.fetch_open_orders("BTC/USDT") == []
        with pytest.raises(ccxt_async.OrderNotFound):
            await ex.privateGetOrderList({"orderListId": 999})

    with_sim(body)


def test_cancel_one_leg_cancels_the_list_and_bad_oco_is_refused() -> None:
    async def body(sim: SimulatorHandle, ex: Any) -> None:
        await ex.create_order("BTC/USDT", "market", "buy", BUY)
        stop, take = _prices(sim, "0.8", "1.5")
        result = await ex.privatePostOrderListOco(
            {
                "symbol": "BTCUSDT", "side": "SELL", "quantity": "0.01",
                "aboveType": "LIMIT_MAKER", "abovePrice": take,
                "belowType": "STOP_LOSS", "belowStopPrice": stop,
            }
        )  # fmt: skip
        leg = result["orders"][0]
        await ex.cancel_order(str(leg["orderId"]), "BTC/USDT")
        statuses = [o["status"] for o in await ex.fetch_orders("BTC/USDT")]
        assert statuses == ["closed", "canceled", "canceled"]
        with pytest.raises(ccxt_async.InvalidOrder):  # take-profit below the stop
            await ex.privatePostOrderListOco(
                {
                    "symbol": "BTCUSDT", "side": "SELL", "quantity": "0.01",
                    "aboveType": "LIMIT_MAKER", "abovePrice": stop,
                    "belowType": "STOP_LOSS", "belowStopPrice": take,
                }
            )  # fmt: skip
        with pytest.raises(ccxt_async.InsufficientFunds):
            await ex.privatePostOrderListOco(
                {
                    "symbol": "BTCUSDT", "side": "SELL", "quantity": "0.02",
                    "aboveType": "LIMIT_MAKER", "abovePrice": take,
                    "belowType": "STOP_LOSS", "belowStopPrice": stop,
                }
            )  # fmt: skip

    with_sim(body)

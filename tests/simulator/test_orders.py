"""Orders through the real ccxt client: market, limit, stop-limit, cancel, queries, refusals."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import ccxt.async_support as ccxt_async
import pytest

from rampart_testkit.simulator import SimulatorHandle, ccxt_client, start_simulator
from tests.simulator.helpers import with_sim


def _free(balance: dict[str, Any], asset: str) -> Decimal:
    return Decimal(str(balance[asset]["free"]))


def test_market_buy_fills_at_once_and_books_fees() -> None:
    async def body(sim: SimulatorHandle, ex: Any) -> None:
        order = await ex.create_order(
            "BTC/USDT", "market", "buy", 0.01, params={"clientOrderId": "m-1"}
        )
        assert order["status"] == "closed" and order["clientOrderId"] == "m-1"
        assert order["filled"] == pytest.approx(0.01)
        [fill] = order["trades"]
        price, fee = Decimal(str(fill["price"])), Decimal(str(fill["fee"]["cost"]))
        assert fill["fee"]["currency"] == "BTC"  # as Binance: out of the coins received
        assert price >= sim.exchange.last_price("BTC/USDT")  # slippage is against the taker
        balance = await ex.fetch_balance()
        assert _free(balance, "BTC") == Decimal("0.01") - fee
        assert _free(balance, "USDT") == Decimal(10000) - price * Decimal("0.01")
        [trade] = await ex.fetch_my_trades("BTC/USDT")
        assert trade["order"] == order["id"] and trade["side"] == "buy"
        assert trade["takerOrMaker"] == "taker"

    with_sim(body)


def test_limit_rests_locks_money_and_fills_as_candles_move() -> None:
    async def body(sim: SimulatorHandle, ex: Any) -> None:
        last = sim.exchange.last_price("BTC/USDT")
        limit = float((last * Decimal("1.002")).quantize(Decimal("0.01")))
        order = await ex.create_order("BTC/USDT", "limit", "buy", 0.01, limit)
        assert order["status"] == "open" and order["filled"] == 0
        balance = await ex.fetch_balance()
        # A buy locks its price times its quantity: its fee comes out of the coins.
        assert Decimal(str(balance["USDT"]["used"])) == Decimal(str(limit)) * Decimal("0.01")
        [open_order] = await ex.fetch_open_orders("BTC/USDT")
        assert open_order["id"] == order["id"]
        for _ in range(50):
            await sim.advance(1)
            fetched = await ex.fetch_order(order["id"], "BTC/USDT")
            if fetched["status"] == "closed":
                break
        assert fetched["status"] == "closed" and fetched["price"] == limit
        assert fetched["average"] == pytest.approx(limit)
        assert await ex.fetch_open_orders("BTC/USDT") == []
        trades = await ex.fetch_my_trades("BTC/USDT")
        assert {t["takerOrMaker"] for t in trades} == {"maker"}
        assert sum(t["amount"] for t in trades) == pytest.approx(0.01)

    with_sim(body)


def test_stop_limit_cancel_and_queries_by_client_id() -> None:
    async def body(sim: SimulatorHandle, ex: Any) -> None:
        await ex.create_order("BTC/USDT", "market", "buy", 0.01)
        last = sim.exchange.last_price("BTC/USDT")
        stop = float((last * Decimal("0.9")).quantize(Decimal("0.01")))
        order = await ex.create_order(
            "BTC/USDT", "limit", "sell", 0.005, stop - 10,
            params={"stopPrice": stop, "clientOrderId": "sl-1"},
        )  # fmt: skip
        assert order["info"]["type"] == "STOP_LOSS_LIMIT"
        by_client = await ex.fetch_order(None, "BTC/USDT", params={"origClientOrderId": "sl-1"})
        assert by_client["id"] == order["id"] and by_client["status"] == "open"
        assert by_client["triggerPrice"] == stop
        balance = await ex.fetch_balance()
        assert Decimal(str(balance["BTC"]["used"])) == Decimal("0.005")
        canceled = await ex.cancel_order(order["id"], "BTC/USDT")
        assert canceled["status"] == "canceled"
        again = await ex.fetch_order(None, "BTC/USDT", params={"origClientOrderId": "sl-1"})
        assert again["status"] == "canceled"
        orders = await ex.fetch_orders("BTC/USDT")
        assert [o["status"] for o in orders] == ["closed", "canceled"]
        assert Decimal(str((await ex.fetch_balance())["BTC"]["used"])) == 0
        with pytest.raises(ccxt_async.OrderNotFound):
            await ex.cancel_order(order["id"], "BTC/USDT")

    with_sim(body)


def test_refusals_map_to_ccxt_exceptions() -> None:
    async def body(sim: SimulatorHandle, ex: Any) -> None:
        with pytest.raises(ccxt_async.InsufficientFunds):
            await ex.create_order("BTC/USDT", "market", "buy", 1)
        with pytest.raises(ccxt_async.InvalidOrder, match="LOT_SIZE"):
            await ex.privatePostOrder(
                {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC",
                 "quantity": "0.000001", "price": "30000"}
            )  # fmt: skip
        with pytest.raises(ccxt_async.InvalidOrder, match="PRICE_FILTER"):
            await ex.privatePostOrder(
                {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC",
                 "quantity": "0.001", "price": "30000.001"}
            )  # fmt: skip
        with pytest.raises(ccxt_async.BadRequest, match="NOTIONAL"):
            await ex.create_order("BTC/USDT", "limit", "buy", 0.0001, 30000)
        with pytest.raises(ccxt_async.BadRequest, match="timeInForce"):
            await ex.privatePostOrder(
                {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "quantity": "0.001",
                 "price": "30000"}
            )  # fmt: skip
        with pytest.raises(ccxt_async.OrderNotFound):
            await ex.fetch_order("12345", "BTC/USDT")
        with pytest.raises(ccxt_async.OrderImmediatelyFillable):
            last = sim.exchange.last_price("BTC/USDT")
            await ex.create_order(
                "BTC/USDT", "limit", "buy", 0.001, float(last + 100), params={"postOnly": True}
            )
        assert sim.state()["orders"] == 0  # nothing was created by any of these

    with_sim(body)


def test_duplicate_client_id_never_makes_a_second_order() -> None:
    async def body(sim: SimulatorHandle, ex: Any) -> None:
        await ex.create_order(
            "BTC/USDT", "limit", "buy", 0.001, 30000, params={"clientOrderId": "d"}
        )
        with pytest.raises(ccxt_async.InvalidOrder, match="Duplicate order sent"):
            await ex.create_order(
                "BTC/USDT", "limit", "buy", 0.001, 30000, params={"clientOrderId": "d"}
            )
        await ex.create_order("BTC/USDT", "market", "buy", 0.001, params={"clientOrderId": "f"})
        with pytest.raises(ccxt_async.InvalidOrder, match="Duplicate order sent"):
            await ex.create_order("BTC/USDT", "market", "buy", 0.001, params={"clientOrderId": "f"})
        # A rejected order was never created: its client id is free again.
        with pytest.raises(ccxt_async.InsufficientFunds):
            await ex.create_order("BTC/USDT", "market", "buy", 5, params={"clientOrderId": "r"})
        again = await ex.create_order(
            "BTC/USDT", "market", "buy", 0.001, params={"clientOrderId": "r"}
        )
        assert again["status"] == "closed"
        assert len(await ex.fetch_orders("BTC/USDT")) == 3

    with_sim(body)


def test_market_buy_by_quote_amount() -> None:
    async def body(sim: SimulatorHandle, ex: Any) -> None:
        order = await ex.create_order("BTC/USDT", "market", "buy", None, params={"cost": 100})
        assert order["status"] == "closed"
        assert order["cost"] == pytest.approx(100, rel=0.01)
        assert Decimal(order["info"]["origQuoteOrderQty"]) == 100

    with_sim(body)


def test_configured_accounts_cancel_all_and_tickers() -> None:
    key, secret = "k" * 64, "s" * 64

    async def main() -> None:
        accounts = [{"balances": {"USDT": "700"}, "key": key, "secret": secret, "account_id": "a"}]
        async with start_simulator(symbols=["BTC/USDT", "ETH/USDT"], accounts=accounts) as sim:
            ex = ccxt_client(sim.url, key, secret, enableRateLimit=False)
            try:
                assert (await ex.fetch_balance())["USDT"]["free"] == 700
                for price in (1000, 1001):
                    await ex.create_order("ETH/USDT", "limit", "buy", 0.1, price)
                await ex.create_order("BTC/USDT", "limit", "buy", 0.001, 30000)
                assert len(await ex.fetch_open_orders()) == 3
                gone = await ex.cancel_all_orders("ETH/USDT")
                assert sorted(o["status"] for o in gone) == ["canceled", "canceled"]
                [left] = await ex.fetch_open_orders()
                assert left["symbol"] == "BTC/USDT"
                tickers = await ex.fetch_tickers()
                assert set(tickers) == {"BTC/USDT", "ETH/USDT"}
                price = await ex.publicGetTickerPrice({"symbol": "ETHUSDT"})
                assert Decimal(price["price"]) == sim.exchange.last_price("ETH/USDT")
                assert sim.state()["accounts"]["a"]["balances"]["USDT"]["locked"] != "0"
            finally:
                await ex.close()

    asyncio.run(main())

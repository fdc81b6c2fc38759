"""Commissions taken the way Binance takes them: a buy's from the base received, a sell's from the
quote received, in BNB for an account that pays fees with BNB; 8 decimals."""

from __future__ import annotations

import asyncio
import re
from decimal import Decimal
from typing import Any

import aiohttp
import pytest

from rampart.domain.errors import ConfigError
from rampart.venues.charging import Charging
from rampart_testkit.simulator import SimulatorHandle, ccxt_client, start_simulator
from tests.simulator.helpers import with_sim

D = Decimal
EIGHT = re.compile(r"^\d+\.\d{8}$")


def _total(balance: dict[str, Any], asset: str) -> Decimal:
    return D(str(balance.get(asset, {}).get("total") or 0))


def test_a_buy_pays_in_the_base_asset_and_a_sell_in_the_quote() -> None:
    async def body(sim: SimulatorHandle, ex: Any) -> None:
        buy = await ex.create_order("BTC/USDT", "market", "buy", 0.01234)
        [fill] = buy["info"]["fills"]
        assert fill["commissionAsset"] == "BTC"
        assert fill["commission"] == "0.00001234" and EIGHT.match(fill["commission"])
        held = _total(await ex.fetch_balance(), "BTC")
        assert held == D("0.01234") - D("0.00001234")
        sell = await ex.create_order("BTC/USDT", "market", "sell", 0.0123)
        [out] = sell["info"]["fills"]
        assert out["commissionAsset"] == "USDT" and EIGHT.match(out["commission"])
        quote = D(out["price"]) * D("0.0123")
        assert D(out["commission"]) == (quote * D("0.001")).quantize(D("1e-8"), "ROUND_UP")
        trades = await ex.fetch_my_trades("BTC/USDT")
        assert [t["info"]["commissionAsset"] for t in trades] == ["BTC", "USDT"]
        assert _total(await ex.fetch_balance(), "BTC") == held - D("0.0123")

    with_sim(body, charging=Charging())


def test_a_buy_spends_all_its_quote_on_the_coins_when_the_fee_comes_from_them() -> None:
    async def body(sim: SimulatorHandle, ex: Any) -> None:
        price = sim.exchange.last_price("BTC/USDT")
        # Worth nearly the whole balance: no room for a quote fee, none is needed.
        qty = (D("99.95") / price / D("1.0012")).quantize(D("0.00001"), "ROUND_DOWN")
        order = await ex.create_order("BTC/USDT", "market", "buy", float(qty))
        assert order["status"] == "closed"

    with_sim(body, balances={"USDT": "100"}, charging=Charging())


def test_bnb_pays_the_discounted_fee_while_the_account_holds_bnb() -> None:
    async def body(sim: SimulatorHandle, ex: Any, held_bnb: Decimal) -> None:
        bnb = sim.exchange.last_price("BNB/USDT")
        order = await ex.create_order("BTC/USDT", "market", "buy", 0.01)
        [fill] = order["info"]["fills"]
        assert fill["commissionAsset"] == "BNB"
        notional = D(fill["price"]) * D("0.01")
        expected = (notional * D("0.001") * D("0.75") / bnb).quantize(D("1e-8"), "ROUND_UP")
        assert D(fill["commission"]) == expected
        balance = await ex.fetch_balance()
        assert _total(balance, "BTC") == D("0.01")
        assert _total(balance, "BNB") == held_bnb - expected
        # Too little BNB left for the next fee: it comes out of the BTC received instead.
        again = await ex.create_order("BTC/USDT", "market", "buy", 0.01)
        assert again["info"]["fills"][0]["commissionAsset"] == "BTC"

    async def main() -> None:
        async with start_simulator(symbols=["BTC/USDT", "BNB/USDT"], charging=Charging()) as sim:
            ex = sim.exchange
            one_fee = D("0.01") * ex.last_price("BTC/USDT") * D("0.00075")
            held = (one_fee * D("1.5") / ex.last_price("BNB/USDT")).quantize(D("1e-8"))
            key, secret = sim.create_account({"USDT": "10000", "BNB": held}, bnb_fees=True)
            client = ccxt_client(sim.url, key, secret, enableRateLimit=False)
            try:
                await client.load_markets()
                await body(sim, client, held)
            finally:
                await client.close()

    asyncio.run(main())


def test_bnb_fees_are_switched_per_account_and_refused_without_a_bnb_market() -> None:
    async def main() -> None:
        async with (
            start_simulator(symbols=["BTC/USDT"], charging=Charging()) as sim,
            aiohttp.ClientSession(base_url=sim.url) as http,
        ):
            async with http.post(
                "/sim/accounts", json={"balances": {"USDT": 100}, "bnb_fees": True}
            ) as resp:
                assert resp.status == 400
                body = await resp.json()
                assert "BNB/USDT" in body["error"]
            assert sim.exchange.keys == {}  # nothing was created
            sim.create_account({"USDT": 100}, account_id="a1")
            async with http.post("/sim/accounts/a1/bnb-fees", json={"enabled": True}) as r:
                assert r.status == 400 and "BNB/USDT" in (await r.json())["error"]
            async with http.post("/sim/accounts/zz/bnb-fees", json={}) as r:
                assert r.status == 400 and "zz" in (await r.json())["error"]
        async with start_simulator(symbols=["BTC/USDT", "BNB/USDT"], charging=Charging()) as sim:
            sim.create_account({"USDT": 100}, account_id="a1")
            async with (
                aiohttp.ClientSession(base_url=sim.url) as http,
                http.post("/sim/accounts/a1/bnb-fees", json={"enabled": True}) as r,
            ):
                assert r.status == 200
            assert "a1" in sim.exchange.core.discount_accounts
            sim.exchange.pay_fees_in_bnb("a1", enabled=False)
            assert sim.exchange.core.discount_accounts == set()

    asyncio.run(main())


def test_without_charging_every_fee_is_in_the_quote_currency() -> None:
    async def main() -> None:
        async with start_simulator(symbols=["BTC/USDT", "BNB/USDT"], charging=None) as sim:
            with pytest.raises(ConfigError, match="quote currency"):
                sim.create_account({"USDT": 100}, bnb_fees=True)

    asyncio.run(main())

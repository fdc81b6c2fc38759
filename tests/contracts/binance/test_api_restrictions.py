"""``GET /sapi/v1/account/apiRestrictions`` on the simulator: Binance's published shape, and what
each account's key may do as the test that made it said, read by the real ccxt client."""

from __future__ import annotations

import asyncio

from rampart_testkit.simulator import start_simulator
from rampart_testkit.simulator.client import ccxt_client
from tests.contracts.binance import shapes

from .test_simulator import raw, same_shape


def test_the_published_example_is_the_shape_the_simulator_answers() -> None:
    async def go() -> None:
        async with raw({"USDT": "100"}) as r:
            answer = await r.ok("GET", "/sapi/v1/account/apiRestrictions")
            same_shape("api_restrictions", answer, "read-only key")
            same_shape("api_restrictions", answer, "withdrawal-enabled key")
            # Same keys as published, nothing Binance does not send.
            published = shapes.example("api_restrictions")["response"]
            assert set(answer) == set(published)
            # The safe key by default: no withdrawals, pinned to an address, spot trading.
            assert answer["enableWithdrawals"] is False and answer["ipRestrict"] is True
            assert answer["enableSpotAndMarginTrading"] is True
            # Unsigned, it is refused as every USER_DATA endpoint is.
            status, _, body = await r.call("GET", "/sapi/v1/account/apiRestrictions", False)
            assert status == 400 and isinstance(body.get("code"), int)

    asyncio.run(go())


def test_each_accounts_key_says_what_its_test_made_it() -> None:
    async def go() -> None:
        async with start_simulator() as sim:
            unsafe = sim.create_account({"USDT": "1"}, withdrawals=True, ip_restrict=False)
            safe = sim.create_account({"USDT": "1"})
            seen = {}
            for name, (key, secret) in (("unsafe", unsafe), ("safe", safe)):
                client = ccxt_client(sim.url, key, secret)
                try:
                    seen[name] = await client.sapi_get_account_apirestrictions()
                finally:
                    await client.close()
            assert seen["unsafe"]["enableWithdrawals"] is True
            assert seen["unsafe"]["ipRestrict"] is False
            assert seen["safe"]["enableWithdrawals"] is False
            assert seen["safe"]["ipRestrict"] is True
            # The admin route changes a key's rights later; bad input is one sentence.
            import aiohttp

            async with aiohttp.ClientSession(base_url=sim.url) as http:
                account = next(a.account_id for a in sim.exchange.keys.values() if a.key == safe[0])
                path = f"/sim/accounts/{account}/restrictions"
                async with http.post(path, json={"withdrawals": True}) as resp:
                    assert resp.status == 200
                async with http.post(path, json={"withdrawals": "yes"}) as resp:
                    assert resp.status == 400
                    assert (await resp.json())["error"] == '"withdrawals" is true or false.'
            assert sim.exchange.rights[account].withdrawals is True
            assert sim.exchange.rights[account].ip_restrict is True

    asyncio.run(go())

"""The /sim/ admin endpoints over HTTP, and the in-process fault and tape APIs."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import pytest

from rampart.domain.errors import ConfigError
from rampart_testkit.simulator import FaultSet, ccxt_client, start_simulator
from rampart_testkit.simulator.tape import MarketTape


def test_admin_endpoints_drive_accounts_faults_time_and_state() -> None:
    async def main() -> None:
        async with start_simulator(symbols=["BTC/USDT", "ETH/USDT"]) as sim:
            http = aiohttp.ClientSession(base_url=sim.url)
            try:

                async def call(method: str, path: str, **kw: Any) -> tuple[int, Any]:
                    async with http.request(method, path, **kw) as resp:
                        return resp.status, await resp.json()

                status, acct = await call(
                    "POST", "/sim/accounts", json={"balances": {"USDT": "2500", "eth": 1}}
                )
                assert status == 200 and acct["account_id"] == "sim-1"
                status, listed = await call("GET", "/sim/accounts")
                assert listed == [{"account_id": "sim-1", "api_key": acct["api_key"]}]
                client = ccxt_client(sim.url, acct["api_key"], acct["secret"])
                try:
                    balance = await client.fetch_balance()
                    assert balance["USDT"]["free"] == 2500 and balance["ETH"]["free"] == 1
                    await client.create_order("ETH/USDT", "limit", "sell", 0.5, 9000)
                finally:
                    await client.close()

                status, fault = await call(
                    "POST", "/sim/faults", json={"kind": "error", "count": 2, "paths": "/api"}
                )
                assert status == 200 and fault["paths"] == ["/api"] and fault["id"] == 1
                await call("POST", "/sim/faults", json={"kind": "skew", "skew_ms": 1500})
                status, faults = await call("GET", "/sim/faults")
                assert [f["kind"] for f in faults["faults"]] == ["error", "skew"]
                assert faults["skew_ms"] == 1500
                status, cleared = await call("DELETE", "/sim/faults/1")
                assert cleared == {"cleared": 1}
                status, cleared = await call("DELETE", "/sim/faults", params={"kind": "skew"})
                assert cleared == {"cleared": 1} and sim.faults.list() == []

                status, moved = await call("POST", "/sim/advance", json={"candles": 3})
                assert moved["advanced"] == 3 and moved["time"] == sim.exchange.now_ms
                status, state = await call("GET", "/sim/state")
                assert state["steps"] == 4 and state["orders"] == 1
                eth = state["accounts"]["sim-1"]["balances"]["ETH"]
                assert eth == {"free": "0.5", "locked": "0.5"}
                [open_order] = state["accounts"]["sim-1"]["open_orders"]
                assert open_order["side"] == "sell" and open_order["price"] == "9000"
                assert state["requests"]["/api/v3/order"] == 1

                for path, payload in (
                    ("/sim/faults", {"kind": "meteor"}),
                    ("/sim/faults", {"kind": "drop", "probability": 2}),
                    ("/sim/faults", {"kind": "drop", "colour": "red"}),
                    ("/sim/advance", {"candles": -1}),
                    ("/sim/accounts", {"balances": {"USDT": "lots"}}),
                ):
                    status, answer = await call("POST", path, json=payload)
                    assert status == 400 and answer["error"].endswith(".")
                status, answer = await call("POST", "/sim/accounts", data=b"[1,")
                assert status == 400
            finally:
                await http.close()

    asyncio.run(main())


def test_fault_draws_follow_probability_count_and_seed() -> None:
    def fired(seed: int) -> list[bool]:
        faults = FaultSet(seed=seed)
        faults.add("drop", probability=0.5)
        return [bool(faults.draw("/api/v3/order", "POST")) for _ in range(200)]

    assert fired(1) == fired(1)
    assert 60 < sum(fired(1)) < 140
    faults = FaultSet()
    faults.add("error", count=2, methods=["post"])
    assert not faults.draw("/api/v3/order", "GET")
    assert [len(faults.draw("/api/v3/order", "POST")) for _ in range(3)] == [1, 1, 0]
    lost = faults.add("lost_response")
    assert lost.methods == ("POST", "DELETE")
    with pytest.raises(ConfigError):
        faults.add("error", status=404)
    with pytest.raises(ConfigError):
        faults.add("drop", count=0)


def test_tape_releases_steps_and_keeps_a_bounded_tail() -> None:
    tape = MarketTape.synthetic(["ETH/USDT", "BTC/USDT"], history=5)
    group = tape.step()
    assert [c.symbol for c in group] == ["BTC/USDT", "ETH/USDT"]
    assert tape.now_ms == group[0].close_ts
    for _ in range(9):
        tape.step()
    assert len(tape.history["BTC/USDT"]) == 5
    newest = tape.klines("BTC/USDT", None, None, 3)
    assert [c.ts for c in newest] == [c.ts for c in list(tape.history["BTC/USDT"])[-3:]]
    oldest = tape.klines("BTC/USDT", newest[0].ts, None, 2)
    assert [c.ts for c in oldest] == [newest[0].ts, newest[1].ts]

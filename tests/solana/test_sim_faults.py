"""Each fault of the Solana stand-in, seen from a client over HTTP; the admin routes; the
slot timer; route prices that depend on size."""

from __future__ import annotations

import httpx
import pytest
from solders.keypair import Keypair

from rampart_testkit.solana_sim import SolanaSimHandle

from .sim_helpers import SOL, USDC, SimClient, funded_user, with_solana_sim


def test_drop_and_expire_are_accepted_but_never_land() -> None:
    async def body(sim: SolanaSimHandle, c: SimClient) -> None:
        user = funded_user(sim)
        who = str(user.pubkey())
        for kind in ("drop", "expire"):
            sim.add_fault(kind, node="a")
            _, tx = await c.signed_swap("jupiter", user, USDC, SOL, 10**6)
            signature = (await c.send(tx))["result"]
            await sim.advance(160)  # past the blockhash's lastValidBlockHeight
            assert await c.status(signature) is None
            assert await c.result("getTransaction", [signature, {}]) is None
            assert sim.state()["transactions"][-1]["status"] == "dropped"
        assert sim.balance(who, USDC) == 10_000 * 10**6 and sim.lamports(who) == 10**9
        # the faults were one-shot: the next swap lands
        _, tx = await c.signed_swap("jupiter", user, USDC, SOL, 10**6)
        signature = (await c.send(tx))["result"]
        await sim.advance(2)
        assert (await c.status(signature))["err"] is None

    with_solana_sim(body)


@pytest.mark.parametrize(
    ("route", "mode", "inp", "out", "amount"),
    [
        ("bags", "ExactIn", SOL, USDC, 10**9),
        ("bags", "ExactIn", USDC, SOL, 150 * 10**6),
        ("jupiter", "ExactOut", USDC, SOL, 10**9),
    ],
)
def test_slippage_lands_with_custom_6001_and_only_the_fee_is_taken(
    route: str, mode: str, inp: str, out: str, amount: int
) -> None:
    async def body(sim: SolanaSimHandle, c: SimClient) -> None:
        user = funded_user(sim)
        who = str(user.pubkey())
        sim.add_fault("slippage", bps=300)
        _, tx = await c.signed_swap(route, user, inp, out, amount, mode, slippage_bps=50)
        signature = (await c.send(tx))["result"]
        await sim.advance(2)
        status = await c.status(signature)
        assert status["err"] == {"InstructionError": [1, {"Custom": 6001}]}
        got = await c.result("getTransaction", [signature, {"commitment": "confirmed"}])
        fee = got["meta"]["fee"]
        assert got["meta"]["err"] == status["err"] and fee == 15_000
        assert got["meta"]["preTokenBalances"] == got["meta"]["postTokenBalances"]
        assert sim.balance(who, SOL) == 10 * 10**9 and sim.lamports(who) == 10**9 - fee
        assert sim.balance(who, USDC) == 10_000 * 10**6
        assert sim.state()["platform_fees"] == {}  # nothing swapped, no platform fee

    with_solana_sim(body)


def test_a_swap_without_the_tokens_lands_failed() -> None:
    async def body(sim: SolanaSimHandle, c: SimClient) -> None:
        user = funded_user(sim, usdc=1)
        _, tx = await c.signed_swap("jupiter", user, USDC, SOL, 50 * 10**6)
        signature = (await c.send(tx))["result"]
        await sim.advance(2)
        assert (await c.status(signature))["err"] == {"InstructionError": [1, {"Custom": 1}]}
        assert sim.balance(str(user.pubkey()), USDC) == 10**6

    with_solana_sim(body)


def test_slow_confirm_lands_later() -> None:
    async def body(sim: SolanaSimHandle, c: SimClient) -> None:
        user = funded_user(sim)
        sim.add_fault("slow_confirm", slots=5)
        _, tx = await c.signed_swap("jupiter", user, USDC, SOL, 10**6)
        signature = (await c.send(tx))["result"]
        sent_slot = await c.result("getSlot", [])
        await sim.advance(5)
        assert await c.status(signature) is None
        await sim.advance(1)
        status = await c.status(signature)
        assert status["slot"] == sent_slot + 6 and status["confirmationStatus"] == "processed"

    with_solana_sim(body)


def test_http_faults_answer_429_with_retry_after_and_503_on_their_target_only() -> None:
    async def body(sim: SolanaSimHandle, c: SimClient) -> None:
        sim.add_fault("http429", node="a", retry_after=2)
        r = await c.rpc_raw("getSlot", [], node="a")
        assert r.status_code == 429 and r.headers["Retry-After"] == "2"
        assert r.json()["error"]["code"] == 429
        assert (await c.rpc_raw("getSlot", [], node="a")).status_code == 200  # count 1
        sim.add_fault("http5xx", node="a", count=2)
        assert (await c.rpc_raw("getSlot", [], node="b")).status_code == 200
        assert [(await c.rpc_raw("getSlot", [])).status_code for _ in range(3)] == [503, 503, 200]
        params = {"inputMint": USDC, "outputMint": SOL, "amount": "1000000"}
        sim.add_fault("http429", node="jupiter")
        jup_key = {"x-api-key": sim.jupiter_api_key}
        r = await c.http.get(sim.jupiter_url + "/quote", params=params, headers=jup_key)
        assert r.status_code == 429 and "Retry-After" in r.headers
        sim.add_fault("http5xx", node="bags")
        r = await c.http.get(
            sim.bags_url + "/trade/quote", params=params, headers={"x-api-key": sim.api_key}
        )
        assert r.status_code == 503 and r.json()["success"] is False
        r = await c.http.get(sim.bags_url + "/trade/quote", params=params)
        assert r.status_code == 401 and r.json() == {"success": False, "error": "Unauthorized"}
        assert sim.state()["requests"] == {"a": 5, "b": 1, "jupiter": 1, "bags": 2}

    with_solana_sim(body)


def test_a_down_node_closes_connections_until_cleared() -> None:
    async def body(sim: SolanaSimHandle, c: SimClient) -> None:
        sim.add_fault("down", node="a")
        for _ in range(2):
            with pytest.raises(httpx.TransportError):
                await c.rpc_raw("getHealth", [], node="a")
        assert await c.result("getHealth", [], node="b") == "ok"
        sim.clear_faults()
        assert await c.result("getHealth", [], node="a") == "ok"

    with_solana_sim(body)


def test_a_lagging_node_sees_old_slots_and_says_so() -> None:
    async def body(sim: SolanaSimHandle, c: SimClient) -> None:
        user = funded_user(sim)
        sim.add_fault("lag", node="a", slots=20)
        now = await c.result("getSlot", [], node="b")
        assert await c.result("getSlot", [], node="a") == now - 20
        assert await c.result("getBlockHeight", [], node="a") == now - 20
        health = await c.rpc("getHealth", [], node="a")
        assert health["error"]["code"] == -32005
        assert health["error"]["message"] == "Node is behind by 20 slots"
        _, tx = await c.signed_swap("jupiter", user, USDC, SOL, 10**6)
        signature = (await c.send(tx, node="b"))["result"]
        await sim.advance(5)
        assert (await c.status(signature, node="b"))["confirmationStatus"] == "confirmed"
        assert await c.status(signature, node="a") is None  # its view is before the landing
        await sim.advance(20)
        assert (await c.status(signature, node="a"))["confirmationStatus"] == "confirmed"

    with_solana_sim(body)


def test_admin_routes_over_http() -> None:
    async def body(sim: SolanaSimHandle, c: SimClient) -> None:
        who = str(funded_user(sim).pubkey())
        r = await c.http.post(
            sim.url + "/sim/wallets", json={"pubkey": who, "lamports": 5, "tokens": {USDC: 7}}
        )
        assert r.status_code == 200 and r.json()["lamports"] == 10**9 + 5
        r = await c.http.post(
            sim.url + "/sim/transfer", json={"pubkey": who, "mint": USDC, "amount": 10**6}
        )
        assert r.json()["balance"] == 10_000 * 10**6 + 7 - 10**6
        r = await c.http.post(
            sim.url + "/sim/transfer", json={"pubkey": who, "mint": USDC, "amount": 10**12}
        )
        assert r.status_code == 400 and "holds only" in r.json()["error"]
        r = await c.http.post(sim.url + "/sim/wallets", json={"pubkey": who, "tokens": {"nope": 1}})
        assert r.status_code == 400
        r = await c.http.post(sim.url + "/sim/price", json={"symbol": "SOL/USDC", "price": "200"})
        assert r.status_code == 200
        quote = await c.quote("jupiter", SOL, USDC, 10**6)  # 0.001 SOL
        assert 199_000 < int(quote["outAmount"]) < 200_000
        r = await c.http.post(
            sim.url + "/sim/faults", json={"kind": "lag", "node": "a", "slots": 3}
        )
        assert r.status_code == 200
        assert (await c.rpc("getHealth", []))["error"]["code"] == -32005
        assert (await c.http.delete(sim.url + "/sim/faults")).status_code == 200
        assert await c.result("getHealth", []) == "ok"
        r = await c.http.post(sim.url + "/sim/faults", json={"kind": "meteor"})
        assert r.status_code == 400 and "unknown fault kind" in r.json()["error"]
        before = await c.result("getSlot", [])
        r = await c.http.post(sim.url + "/sim/advance", json={"slots": 4})
        assert r.json()["slot"] == before + 4
        state = (await c.http.get(sim.url + "/sim/state")).json()
        assert state["slot"] == before + 4 and state["wallets"][who]["tokens"][USDC] > 0
        assert set(state["pools"]["SOL/USDC"]) == {"jupiter", "bags"}

    with_solana_sim(body)


def test_read_methods_have_the_real_shapes() -> None:
    async def body(sim: SolanaSimHandle, c: SimClient) -> None:
        who = str(funded_user(sim, usdc=123).pubkey())
        info = await c.result("getAccountInfo", [USDC, {"encoding": "jsonParsed"}])
        assert info["value"]["data"]["parsed"]["info"]["decimals"] == 6
        nobody = str(Keypair().pubkey())
        assert (await c.result("getAccountInfo", [nobody, {"encoding": "jsonParsed"}]))[
            "value"
        ] is None
        assert (await c.result("getAccountInfo", [who, {}]))["value"]["lamports"] == 10**9
        by_program = await c.result(
            "getTokenAccountsByOwner",
            [
                who,
                {"programId": "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA"},
                {"encoding": "jsonParsed"},
            ],
        )
        amounts = {
            a["account"]["data"]["parsed"]["info"]["mint"]: a["account"]["data"]["parsed"]["info"][
                "tokenAmount"
            ]
            for a in by_program["value"]
        }
        assert amounts[USDC]["amount"] == "123000000" and amounts[USDC]["uiAmountString"] == "123"
        assert amounts[SOL]["decimals"] == 9
        by_mint = await c.result("getTokenAccountsByOwner", [who, {"mint": SOL}, {}])
        assert len(by_mint["value"]) == 1
        assert (await c.result("getBalance", [who]))["value"] == 10**9
        assert (await c.rpc("getNothing", []))["error"]["code"] == -32601
        r = await c.http.get(
            sim.jupiter_url + "/quote",
            params={"inputMint": USDC, "outputMint": USDC, "amount": "1"},
            headers={"x-api-key": sim.jupiter_api_key},
        )
        assert r.status_code == 400 and r.json()["errorCode"] == "COULD_NOT_FIND_ANY_ROUTE"

    with_solana_sim(body)


def test_either_route_can_win_depending_on_size() -> None:
    async def body(sim: SolanaSimHandle, c: SimClient) -> None:
        def best(jup: dict[str, str], bags: dict[str, str]) -> str:
            return "jupiter" if int(jup["outAmount"]) > int(bags["outAmount"]) else "bags"

        small, large = 100 * 10**6, 50_000 * 10**6  # USDC in
        winners = []
        for amount in (small, large):
            jup = await c.quote("jupiter", USDC, SOL, amount)
            bags = await c.quote("bags", USDC, SOL, amount)
            winners.append(best(jup, bags))
        assert winners == ["jupiter", "bags"]

    with_solana_sim(body)


def test_the_slot_timer_moves_the_chain_on_its_own() -> None:
    async def body(sim: SolanaSimHandle, c: SimClient) -> None:
        user = funded_user(sim)
        _, tx = await c.signed_swap("jupiter", user, USDC, SOL, 10**6)
        signature = (await c.send(tx))["result"]
        for _ in range(500):  # bounded: 5 ms slots, a confirmation takes two
            status = await c.status(signature)
            if status is not None and status["confirmationStatus"] == "confirmed":
                break
        else:
            raise AssertionError("the transaction never confirmed on the slot timer")

    with_solana_sim(body, slot_ms=5)

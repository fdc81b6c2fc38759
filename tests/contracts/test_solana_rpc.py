"""Solana JSON-RPC as its reference publishes it (``tests/contracts/solana_rpc/``): Rampart's
RPC pool and readers send the documented params and read every documented answer, errors
included; the stand-in's nodes answer every method Rampart calls in the documented shapes."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import httpx
import pytest
from solders.keypair import Keypair

from rampart.domain.errors import DataError, VenueError
from rampart.venues.solana import reading, reconcile
from rampart.venues.solana.markets import Market, mint_decimals
from rampart.venues.solana.rpc import RpcError, RpcPool
from rampart_testkit.solana_sim import start_solana_sim

from ..solana.client_kit import aio
from ..solana.sim_helpers import SimClient
from .shapes import fixture, shape_errors

SOL = "So11111111111111111111111111111111111111112"
USDC = "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v"
OWNER = "FAe4sisG95oZ42w7buUn5qEE4TAnfTTFPiguZUHmhiF"
SIG = "5VERv8NMvzbJMEkV8xnrLkEaWRtSz9CosKDYjCJjBRnbJLgp8uirBgmQpjKhoR4tjF3ZpRzrFmBV6UjKdiSZkQUW"
SLOT = 341197933
TOKEN_2022 = "TokenzQdBNbLqP5VEhdkAS6EPFLC1PHnBqCXEpPxuEb"


def body(name: str, key: str | None = None) -> Any:
    data = fixture("solana_rpc", f"{name}.json")
    return (data[key] if key else data)["body"]


class Node:
    """One RPC node answering each method from a fixture; the requests are kept."""

    def __init__(self, answers: dict[str, Any]) -> None:
        self.answers = answers
        self.seen: list[dict[str, Any]] = []

    def handle(self, request: httpx.Request) -> httpx.Response:
        call = json.loads(request.content)
        self.seen.append(call)
        answer = json.loads(json.dumps(self.answers[call["method"]]))
        asked = [*call.get("params", []), None, None]
        program = asked[1].get("programId") if isinstance(asked[1], dict) else None
        # The documented accounts are the classic program's: Token-2022 has none here.
        if call["method"] == "getTokenAccountsByOwner" and program == TOKEN_2022:
            answer["result"]["value"] = []
        answer["id"] = call["id"]
        # The examples come from different pages, each at its own slot; one node answers at
        # one (the pool takes a node answering from an older slot for one falling behind).
        result = answer.get("result")
        if isinstance(result, dict) and isinstance(result.get("context"), dict):
            result["context"]["slot"] = SLOT
        return httpx.Response(200, json=answer)

    def pool(self, http: httpx.AsyncClient) -> RpcPool:
        return RpcPool(["https://rpc.example.org/"], client=http, rounds=1)

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.MockTransport(self.handle))


@aio
async def test_the_pool_reads_every_documented_answer() -> None:
    node = Node(
        {
            "getBlockHeight": body("get_block_height"),
            "getLatestBlockhash": body("get_latest_blockhash"),
            "getSignatureStatuses": body("get_signature_statuses"),
            "sendTransaction": body("send_transaction"),
            "getTransaction": body("get_transaction", "swap"),
            "getAccountInfo": body("get_account_info", "mint"),
        }
    )
    async with node.client() as http:
        rpc = node.pool(http)
        assert await rpc.block_height() == 1233
        assert await rpc.latest_blockhash() == (
            "EkSnNWid2cvwEVnVx9aBqawnmiCNiDgp3gUdkDPTKN1N",
            3090,
        )
        first, second = await rpc.signature_statuses([SIG, SIG])
        assert first is not None and reading.reached(first, "confirmed") and second is None
        sent = await rpc.send_transaction("AQAB")
        assert sent == body("send_transaction")["result"]
        tx = await rpc.transaction(sent)
        market = Market("SOL/USDC", "SOL", "USDC", SOL, USDC, 9, 6)
        assert reading.moved(tx["meta"], OWNER, market, "buy") == (500_000_000, 75_312_050)
        assert await mint_decimals(rpc, USDC) == 6
    send = next(c for c in node.seen if c["method"] == "sendTransaction")
    documented = {
        "encoding",
        "skipPreflight",
        "preflightCommitment",
        "maxRetries",
        "minContextSlot",
    }
    assert send["params"][1]["encoding"] == "base64" and set(send["params"][1]) <= documented
    assert send["params"][1]["maxRetries"] == 0  # Rampart rebroadcasts itself
    get_tx = next(c for c in node.seen if c["method"] == "getTransaction")
    assert get_tx["params"][1]["maxSupportedTransactionVersion"] == 0


@aio
async def test_balances_read_the_documented_token_accounts_and_lamports() -> None:
    node = Node(
        {
            "getTokenAccountsByOwner": body("get_token_accounts_by_owner"),
            "getBalance": body("get_balance"),
        }
    )
    mint = "2cHr7QS3xfuSV8wdxo3ztuF4xbiarF6Nrgx3qpx3HzXR"
    async with node.client() as http:
        found = await reconcile.balances(node.pool(http), OWNER, {mint: "TOK"}, "confirmed")
    assert found["TOK"].free == Decimal(420_000_000)
    assert found[reconcile.GAS].free == 0
    calls = [c for c in node.seen if c["method"] == "getTokenAccountsByOwner"]
    assert all(c["params"][2]["encoding"] == "jsonParsed" for c in calls)
    assert {c["params"][1]["programId"] for c in calls} == {
        "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA",
        "TokenzQdBNbLqP5VEhdkAS6EPFLC1PHnBqCXEpPxuEb",
    }


@aio
async def test_documented_errors_are_sentences_or_failovers() -> None:
    errors = fixture("solana_rpc", "errors.json")
    async with Node({"sendTransaction": errors["blockhash_not_found"]["body"]}).client() as http:
        with pytest.raises(RpcError) as refused:
            await RpcPool(["https://rpc.example.org/"], client=http, rounds=1).send_transaction("x")
    assert "Blockhash not found" in refused.value.message and refused.value.rpc_code == -32002
    async with Node({"getBlockHeight": errors["node_behind"]["body"]}).client() as http:
        with pytest.raises(VenueError) as behind:
            await RpcPool(["https://rpc.example.org/"], client=http, rounds=1).block_height()
    assert behind.value.code == "rpc_down" and "behind" in behind.value.message
    async with Node({"getAccountInfo": body("get_account_info", "missing")}).client() as http:
        with pytest.raises(DataError, match="does not exist on chain"):
            await mint_decimals(RpcPool(["https://r.example.org/"], client=http, rounds=1), SOL)


async def _rpc(http: httpx.AsyncClient, url: str, method: str, params: list[Any]) -> Any:
    answer = (
        await http.post(url, json={"jsonrpc": "2.0", "id": 1, "method": method, "params": params})
    ).json()
    assert answer.get("jsonrpc") == "2.0" and answer.get("id") == 1, answer
    return answer


@aio
async def test_the_stand_in_answers_every_method_rampart_calls_in_the_documented_shapes() -> None:
    async with start_solana_sim(slot_ms=0) as sim, httpx.AsyncClient() as http:
        user = Keypair()
        who = str(user.pubkey())
        sim.fund(who, 10**9, {"USDC": 100 * 10**6})
        url = sim.rpc_url("a")

        async def check(method: str, params: list[Any], documented: Any, **allow: Any) -> Any:
            answer = await _rpc(http, url, method, params)
            # Current nodes put apiVersion in every context (getAccountInfo's page shows it);
            # the older pages' examples leave it out.
            context = (
                answer.get("result", {}).get("context")
                if isinstance(answer.get("result"), dict)
                else None
            )
            documented_context = (
                documented.get("result", {}).get("context")
                if isinstance(documented.get("result"), dict)
                else None
            )
            if (
                context
                and documented_context is not None
                and "apiVersion" not in documented_context
            ):
                context.pop("apiVersion", None)
            assert shape_errors(documented, answer, **allow) == [], method
            return answer

        await check("getHealth", [], body("get_health", "healthy"))
        await check("getSlot", [{"commitment": "confirmed"}], body("get_slot"))
        await check("getBlockHeight", [], body("get_block_height"))
        await check(
            "getLatestBlockhash",
            [{"commitment": "confirmed"}],
            body("get_latest_blockhash"),
        )
        await check("getBalance", [who], body("get_balance"))
        await check(
            "getTokenAccountsByOwner",
            [
                who,
                {"programId": "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA"},
                {"encoding": "jsonParsed"},
            ],
            body("get_token_accounts_by_owner"),
        )
        await check(
            "getAccountInfo",
            [USDC, {"encoding": "jsonParsed"}],
            body("get_account_info", "mint"),
            # A mint without a freeze or mint authority has null there.
            nullable={
                "$.result.value.data.parsed.info.freezeAuthority",
                "$.result.value.data.parsed.info.mintAuthority",
            },
        )
        await check(
            "getSignatureStatuses",
            [
                [
                    "5VERv8NMvzbJMEkV8xnrLkEaWRtSz9CosKDYjCJjBRnbJLgp8uirBgmQpjKhoR4tjF3ZpRzrFmBV6UjKdiSZkQUW"
                ]
            ],
            {"jsonrpc": "2.0", "result": {"context": {"slot": 1}, "value": [None]}, "id": 1},
        )
        # A landed swap, read back as Rampart reads it.
        client = SimClient(sim, http)
        _, tx = await client.signed_swap("jupiter", user, USDC, SOL, 50 * 10**6)
        signature = (await client.send(tx))["result"]
        await sim.advance(2)
        config = {
            "encoding": "json",
            "commitment": "confirmed",
            "maxSupportedTransactionVersion": 0,
        }
        await check(
            "getTransaction",
            [signature, config],
            body("get_transaction", "swap"),
        )
        await check(
            "getSignatureStatuses",
            [[signature]],
            body("get_signature_statuses"),
            nullable={"$.result.value[].confirmations"},
        )
        errors = fixture("solana_rpc", "errors.json")
        refused = await _rpc(
            http, url, "sendTransaction", ["not-a-transaction", {"encoding": "base64"}]
        )
        assert shape_errors(errors["invalid_params"]["body"], refused) == []
        unknown = await _rpc(http, url, "getNothing", [])
        assert shape_errors(errors["method_not_found"]["body"], unknown) == []

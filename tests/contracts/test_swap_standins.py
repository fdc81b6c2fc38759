"""The Solana stand-in's Jupiter and bags.fm answer in the shapes of the services' own
published material (``tests/contracts/jupiter`` and ``bags``): the same fields, JSON types and
encodings, and the same refusals. A stand-in answering in a shape the service does not use
fails here, whatever Rampart's client would make of it."""

from __future__ import annotations

import base64
from collections.abc import Awaitable, Callable
from typing import Any

import base58
import httpx
from solders.keypair import Keypair
from solders.transaction import VersionedTransaction

from rampart_testkit.solana_sim import SolanaSimHandle, start_solana_sim

from ..solana.client_kit import aio
from .shapes import fixture, shape_errors

SOL = "So11111111111111111111111111111111111111112"
USDC = "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v"
BAGS_OPTIONAL = {"$.response.outTransferFee"}
BAGS_NULLABLE = {"$.response.simulatedComputeUnits"}


async def on_stand_in(
    body: Callable[[SolanaSimHandle, httpx.AsyncClient, str], Awaitable[None]],
) -> None:
    async with start_solana_sim(slot_ms=0) as sim, httpx.AsyncClient() as http:
        user = Keypair()
        sim.fund(str(user.pubkey()), 10**9, {"USDC": 10_000 * 10**6, "SOL": 10 * 10**9})
        await body(sim, http, str(user.pubkey()))


@aio
async def test_jupiter_answers_in_its_documented_shapes() -> None:
    async def body(sim: SolanaSimHandle, http: httpx.AsyncClient, user: str) -> None:
        key = {"x-api-key": sim.jupiter_api_key}
        for name in ("quote_exact_in.json", "quote_exact_out.json"):
            documented = fixture("jupiter", name)
            r = await http.get(
                sim.jupiter_url + "/quote", params=documented["request"]["query"], headers=key
            )
            assert r.status_code == 200, r.text
            quote = r.json()
            assert shape_errors(documented["body"], quote, nullable={"$.platformFee"}) == []
        swap = fixture("jupiter", "swap.json")
        request: dict[str, Any] = dict(swap["request"]["body"])
        request.update(quoteResponse=quote, userPublicKey=user)
        r = await http.post(sim.jupiter_url + "/swap", json=request, headers=key)
        assert r.status_code == 200, r.text
        answer = r.json()
        assert shape_errors(swap["body"], answer) == []
        VersionedTransaction.from_bytes(base64.b64decode(answer["swapTransaction"]))

    await on_stand_in(body)


@aio
async def test_jupiter_refuses_as_documented() -> None:
    async def body(sim: SolanaSimHandle, http: httpx.AsyncClient, user: str) -> None:
        errors = fixture("jupiter", "errors.json")
        query = fixture("jupiter", "quote_exact_in.json")["request"]["query"]
        r = await http.get(sim.jupiter_url + "/quote", params=query)  # no key
        assert r.status_code == errors["no_api_key"]["status"]
        unknown = {**query, "outputMint": "BAGSB9TpGrZxQbEsrEznv5jXXdwyP6AXerN8aVRiAmcv"}
        r = await http.get(
            sim.jupiter_url + "/quote", params=unknown, headers={"x-api-key": sim.jupiter_api_key}
        )
        assert r.status_code == errors["no_route"]["status"]
        assert shape_errors(errors["no_route"]["body"], r.json()) == []
        assert r.json()["errorCode"] == errors["no_route"]["body"]["errorCode"]

    await on_stand_in(body)


@aio
async def test_bags_answers_in_its_documented_shapes() -> None:
    async def body(sim: SolanaSimHandle, http: httpx.AsyncClient, user: str) -> None:
        key = {"x-api-key": sim.api_key}
        for name in ("quote.json", "quote_sell.json"):
            documented = fixture("bags", name)
            r = await http.get(
                sim.bags_url + "/trade/quote", params=documented["request"]["query"], headers=key
            )
            assert r.status_code == 200, r.text
            answer = r.json()
            errors = shape_errors(
                documented["body"], answer, optional=BAGS_OPTIONAL, nullable=BAGS_NULLABLE
            )
            assert errors == []
            quote = answer["response"]
            assert quote["slippageBps"] == int(documented["request"]["query"]["slippageBps"])
            assert quote["inAmount"] == documented["request"]["query"]["amount"]
            assert quote["platformFee"]["amount"] != "0"
        swap = fixture("bags", "swap.json")
        r = await http.post(
            sim.bags_url + "/trade/swap",
            json={"quoteResponse": quote, "userPublicKey": user},
            headers=key,
        )
        assert r.status_code == 200, r.text
        answer = r.json()
        assert shape_errors(swap["body"], answer) == []
        raw = base58.b58decode(answer["response"]["swapTransaction"])
        VersionedTransaction.from_bytes(raw)

    await on_stand_in(body)


@aio
async def test_bags_slippage_is_applied_only_in_manual_mode_and_refusals_are_documented() -> None:
    async def body(sim: SolanaSimHandle, http: httpx.AsyncClient, user: str) -> None:
        errors = fixture("bags", "errors.json")
        query = dict(fixture("bags", "quote.json")["request"]["query"])
        key = {"x-api-key": sim.api_key}
        auto = {k: v for k, v in query.items() if k != "slippageMode"}
        r = await http.get(sim.bags_url + "/trade/quote", params=auto, headers=key)
        assert r.status_code == 200 and r.json()["response"]["slippageBps"] != 50
        manual = {k: v for k, v in query.items() if k != "slippageBps"}
        r = await http.get(sim.bags_url + "/trade/quote", params=manual, headers=key)
        assert r.status_code == errors["bad_request"]["status"]
        assert shape_errors(errors["bad_request"]["body"], r.json()) == []
        r = await http.get(sim.bags_url + "/trade/quote", params=query)
        assert r.status_code == errors["no_api_key"]["status"]
        assert shape_errors(errors["no_api_key"]["body"], r.json()) == []

    await on_stand_in(body)


def test_the_comparison_is_not_blind() -> None:
    documented = fixture("bags", "quote.json")["body"]
    wrong = {"success": True, "response": dict(documented["response"], swapMode="ExactIn")}
    assert shape_errors(documented, wrong) == ["$.response.swapMode: not a field the service sends"]
    del wrong["response"]["swapMode"]
    wrong["response"]["inAmount"] = 75500000
    assert shape_errors(documented, wrong) == [
        "$.response.inAmount: documented as string, answered number"
    ]

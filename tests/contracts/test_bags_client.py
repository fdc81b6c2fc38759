"""Rampart's bags.fm client against bags.fm's own SDK and API reference
(``tests/contracts/bags/``, sources in its SOURCE.md): the query it sends, the transaction
encoding it reads, the fee it books, every answer parsed, every error in plain words."""

from __future__ import annotations

import base58

from rampart.venues.solana.routes import BagsRoute

from ..solana.client_kit import aio
from .service_double import ServiceDouble
from .shapes import fixture

BASE = "https://public-api-v2.bags.fm/api/v1"
KEY = "bags-test-key"
SOL = "So11111111111111111111111111111111111111112"
USDC = "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v"


def double() -> ServiceDouble:
    buy, sell = fixture("bags", "quote.json"), fixture("bags", "quote_sell.json")
    swap = fixture("bags", "swap.json")

    def quote(seen: object) -> tuple[int, object]:
        chosen = sell if getattr(seen, "query", {}).get("inputMint") == SOL else buy
        return chosen["status"], chosen["body"]

    return ServiceDouble(
        {("GET", "/trade/quote"): quote, ("POST", "/trade/swap"): (200, swap["body"])}
    )


@aio
async def test_the_swap_transaction_is_read_as_base58_as_the_sdk_decodes_it() -> None:
    svc = double()
    async with svc.client() as http:
        route = BagsRoute(BASE, http, KEY)
        quote = await route.quote(USDC, SOL, 75500000, "ExactIn", 50)
        user = fixture("bags", "swap.json")["request"]["body"]["userPublicKey"]
        tx, height = await route.swap_transaction(quote, user, 10_000)
    documented = fixture("bags", "swap.json")["body"]["response"]
    assert bytes(tx) == base58.b58decode(documented["swapTransaction"])
    assert height == documented["lastValidBlockHeight"]
    sent = svc.seen[-1]
    assert sent.path == "/api/v1/trade/swap" and sent.headers.get("x-api-key") == KEY
    assert sent.body == {
        "quoteResponse": fixture("bags", "quote.json")["body"]["response"],
        "userPublicKey": user,
    }


@aio
async def test_the_quote_sends_the_documented_query_with_manual_slippage() -> None:
    svc = double()
    async with svc.client() as http:
        route = BagsRoute(BASE, http, KEY)
        quote = await route.quote(USDC, SOL, 75500000, "ExactIn", 50)
    assert (quote.in_amount, quote.out_amount, quote.threshold) == (
        75500000,
        496314720,
        493833146,
    )
    sent, documented = svc.seen[0], fixture("bags", "quote.json")["request"]
    assert sent.path == "/api/v1/trade/quote" and sent.headers.get("x-api-key") == KEY
    # bags.fm takes no swap mode (``amount`` is always the input), and it applies the
    # slippage asked only in manual mode: its default, auto, would ignore it.
    assert sent.query == documented["query"]


@aio
async def test_the_fee_is_booked_in_the_mint_bags_documents_sol_on_either_leg() -> None:
    svc = double()
    async with svc.client() as http:
        route = BagsRoute(BASE, http, KEY)
        sell = await route.quote(SOL, USDC, 500000000, "ExactIn", 50)
        buy = await route.quote(USDC, SOL, 75500000, "ExactIn", 50)
    assert (sell.platform_fee, sell.platform_fee_mint) == (5000000, SOL)
    assert (buy.platform_fee, buy.platform_fee_mint) == (5013280, SOL)

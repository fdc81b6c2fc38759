"""Every route's quote is checked against the order it serves: bags.fm
has no swap mode (its ``amount`` is always the input), so a buy sized in base units and sent
as bags' input came back many times larger than ordered, and nothing noticed."""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import Any

import pytest

from rampart.domain.errors import VenueError
from rampart.domain.orders import Side
from rampart.venues.solana import attempts
from rampart.venues.solana.markets import Market
from rampart.venues.solana.routes import BagsRoute

from ..contracts.service_double import Seen, ServiceDouble
from ..contracts.shapes import fixture
from .client_kit import aio
from .venue_kit import SOL, USDC

MARKET = Market("SOL/USDC", "SOL", "USDC", SOL, USDC, 9, 6)
PRICE = Decimal(150)
"""USDC per SOL on the double's pool (fees aside)."""


def bags_as_documented(seen: Seen) -> tuple[int, Any]:
    """bags.fm's quote: ``amount`` is what goes in, whatever is asked; 1 % fee in SOL."""
    q = seen.query
    amount = int(q["amount"])
    if q["inputMint"] == USDC:  # buying SOL: the fee comes out of the SOL received
        gross = int(Decimal(amount) * 1000 / PRICE)
        fee, out = gross // 100, gross - gross // 100
    else:  # selling SOL: the fee comes off the SOL before the pool
        fee = amount // 100
        out = int(Decimal(amount - fee) * PRICE / 1000)
    body = copy.deepcopy(fixture("bags", "quote.json")["body"])
    r = body["response"]
    r.update(
        inputMint=q["inputMint"],
        outputMint=q["outputMint"],
        inAmount=str(amount),
        outAmount=str(out),
        otherAmountThreshold=str(out * 9950 // 10000),
        minOutAmount=str(out * 9950 // 10000),
    )
    r["platformFee"]["amount"] = str(fee)
    return 200, body


@aio
async def test_a_bags_buy_comes_out_at_the_ordered_quantity() -> None:
    svc = ServiceDouble({("GET", "/trade/quote"): bags_as_documented})
    async with svc.client() as http:
        routes = {"bags": BagsRoute("https://bags.test/api/v1", http, "k")}
        quote = await attempts.best_quote(routes, MARKET, Side.BUY, Decimal("0.5"), 50, 30)
    ordered = 500_000_000
    # Within solana.route.qty_tolerance_bps (50) of the order, never 6.7 times it.
    assert abs(quote.out_amount - ordered) * 10_000 <= ordered * 50, quote
    assert quote.input_mint == USDC and quote.output_mint == SOL


@aio
async def test_a_quote_for_another_quantity_is_refused() -> None:
    def always_three_sol(seen: Seen) -> tuple[int, Any]:
        status, body = bags_as_documented(seen)
        body["response"]["outAmount"] = "3333333333"
        return status, body

    svc = ServiceDouble({("GET", "/trade/quote"): always_three_sol})
    async with svc.client() as http:
        routes = {"bags": BagsRoute("https://bags.test/api/v1", http, "k")}
        with pytest.raises(VenueError) as err:
            await attempts.best_quote(routes, MARKET, Side.BUY, Decimal("0.5"), 50, 30)
    assert "3.333333333" in err.value.message and "0.5" in err.value.message

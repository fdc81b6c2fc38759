"""Route choice pays nobody a fee that does not exist: bags.fm pays
partner fees on tokens launched with a partner key, not a share of every swap, so no swap
books a partner fee, and the route chosen by default is the one that gives the most for the
order, every fee counted."""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import Any

from rampart.domain.orders import Side
from rampart.reports.solana_section import solana_markdown
from rampart.store.solana_swaps import totals_of
from rampart.venues.solana import attempts
from rampart.venues.solana.journal import FILLED, SwapRecord
from rampart.venues.solana.routes import BagsRoute, JupiterRoute

from ..contracts.service_double import Seen, ServiceDouble
from ..contracts.shapes import fixture
from .client_kit import aio
from .test_quote_check import MARKET
from .venue_kit import SOL, USDC


def sell_answer(name: str, out: int) -> Any:
    def answer(seen: Seen) -> tuple[int, Any]:
        q = seen.query
        if name == "jupiter":
            body = copy.deepcopy(fixture("jupiter", "quote_exact_in.json")["body"])
            target = body
        else:
            body = copy.deepcopy(fixture("bags", "quote_sell.json")["body"])
            target = body["response"]
        target.update(
            inputMint=q["inputMint"],
            outputMint=q["outputMint"],
            inAmount=q["amount"],
            outAmount=str(out),
            otherAmountThreshold=str(out * 9950 // 10000),
        )
        return 200, body

    return answer


@aio
async def test_the_better_route_wins_when_no_preference_is_set() -> None:
    jup = ServiceDouble({("GET", "/quote"): sell_answer("jupiter", 75_000_000)})
    bags = ServiceDouble({("GET", "/trade/quote"): sell_answer("bags", 74_850_000)})
    async with jup.client() as jhttp, bags.client() as bhttp:
        routes = {
            "bags": BagsRoute("https://bags.test/api/v1", bhttp, "k"),
            "jupiter": JupiterRoute("https://jup.test/swap/v1", jhttp, "k"),
        }
        # bags.fm gives 20 bps less for the same 0.5 SOL: nothing is earned by taking it.
        chosen = await attempts.best_quote(routes, MARKET, Side.SELL, Decimal("0.5"), 50, 30)
    assert chosen.route == "jupiter"


def test_no_swap_books_a_partner_fee_and_no_report_shows_one() -> None:
    rec = SwapRecord(
        client_id="c1",
        attempt=1,
        account_id="alice",
        symbol="SOL/USDC",
        side="sell",
        route="bags",
        signature="sig",
        last_valid_height=10,
        in_mint=SOL,
        out_mint=USDC,
        quoted_in=Decimal("0.5"),
        quoted_out=Decimal("74.448"),
        status=FILLED,
        ts=1_700_000_000_000,
        filled_in=Decimal("0.5"),
        filled_out=Decimal("74.448"),
        platform_fee=Decimal("0.005"),
    )
    assert getattr(rec, "partner_fee", Decimal(0)) == 0
    totals = totals_of([rec], 0, 2_000_000_000_000)
    assert "partner_fees" not in totals.as_dict()
    text = "\n".join(solana_markdown(totals))
    assert "partner" not in text.lower()

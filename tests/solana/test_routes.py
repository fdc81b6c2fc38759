"""The routes: quotes parsed from both APIs (stand-in), the tolerance rule both ways, and the
plain-words errors (bad key, no route, not a quote)."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from rampart.domain.errors import DataError, VenueError
from rampart.venues.solana.choice import pick
from rampart.venues.solana.routes import BagsRoute, JupiterRoute, Quote
from rampart_testkit.solana_sim import start_solana_sim

from .client_kit import Recorder, aio
from .venue_kit import SOL, USDC


def q(route: str, in_amount: int, out_amount: int) -> Quote:
    return Quote(route, USDC, SOL, "ExactIn", in_amount, out_amount, 0, 50)


def test_the_best_price_wins_and_a_preference_only_within_its_bound() -> None:
    jup, bags = q("jupiter", 1000, 100_000), q("bags", 1000, 99_700)
    assert pick([jup, bags], buy=False).quote is jup
    preferred = pick([jup, bags], buy=False, prefer="bags", within_bps=30)
    assert preferred.quote is bags and preferred.best is jup
    # The same 1000 sold at Jupiter's price brings 100_000: bags.fm gave up 300 (quote units).
    assert preferred.cost == 300
    assert pick([jup, bags], buy=False, prefer="bags", within_bps=29).quote is jup
    better_bags = q("bags", 1000, 100_001)
    assert pick([jup, better_bags], buy=False).quote is better_bags


def test_a_buy_compares_what_each_route_charges_per_unit() -> None:
    # Different sizes (bags buys are sized from a price): the price per unit decides.
    jup, bags = q("jupiter", 150_000, 1000), q("bags", 150_600, 1002)
    assert pick([jup, bags], buy=True).quote is jup  # 150.00 a unit against 150.30
    cheaper = q("bags", 150_000, 1001)  # 149.85 a unit
    assert pick([jup, cheaper], buy=True).quote is cheaper
    paid = pick([jup, bags], buy=True, prefer="bags", within_bps=30)
    # 1002 units at Jupiter's 150.00 would cost 150_300: the preference paid 300 more.
    assert paid.quote is bags and paid.cost == 300
    with pytest.raises(VenueError, match="No route gave a quote"):
        pick([], buy=True)


@aio
async def test_both_routes_quote_the_stand_in_and_build_a_transaction() -> None:
    async with start_solana_sim(slot_ms=0) as sim, httpx.AsyncClient() as http:
        obs = Recorder()
        jup = JupiterRoute(sim.jupiter_url, http, sim.jupiter_api_key, observer=obs)
        bags = BagsRoute(sim.bags_url, http, sim.api_key, observer=obs)
        a, b = await asyncio.gather(
            jup.quote(USDC, SOL, 10**9, "ExactOut", 50),
            bags.quote(USDC, SOL, 150 * 10**6, "ExactIn", 50),
        )
        assert a.out_amount == 10**9 and b.in_amount == 150 * 10**6
        # bags.fm's 1 % is taken in SOL (a leg is SOL), out of what the buy receives.
        assert a.platform_fee == 0 and b.platform_fee > 0 and b.platform_fee_mint == SOL
        assert b.out_amount < 10**9 and b.threshold <= b.out_amount
        user = "11111111111111111111111111111112"
        tx, height = await bags.swap_transaction(b, user, 10_000)
        assert str(tx.message.account_keys[0]) == user and height > 0
        assert obs.quotes == [("jupiter", True), ("bags", True)] or len(obs.quotes) == 2
        assert "api_key" not in repr(bags) and sim.api_key not in repr(bags)


@aio
async def test_route_errors_are_plain_words() -> None:
    async with start_solana_sim(slot_ms=0) as sim, httpx.AsyncClient() as http:
        bad = BagsRoute(sim.bags_url, http, "wrong-key")
        with pytest.raises(VenueError) as err:
            await bad.quote(USDC, SOL, 10**9, "ExactIn", 50)
        assert err.value.message == "bags.fm refused the API key." and err.value.code == "auth"
        jup = JupiterRoute(sim.jupiter_url, http, sim.jupiter_api_key)
        unknown = "BAGSB9TpGrZxQbEsrEznv5jXXdwyP6AXerN8aVRiAmcv"
        with pytest.raises(VenueError) as err:
            await jup.quote(USDC, unknown, 10**6, "ExactIn", 50)
        assert err.value.code in ("no_route", "refused")


@aio
async def test_an_answer_that_is_not_a_quote_is_a_data_error() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"success": True, "response": {"inAmount": "x"}})

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:
        bags = BagsRoute("http://bags.test/api/v1", http, "k")
        with pytest.raises(DataError) as err:
            await bags.quote(USDC, SOL, 1, "ExactIn", 50)
        assert err.value.message == "bags.fm answered something that is not a quote."


@aio
async def test_a_route_that_times_out_is_a_venue_error() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:
        jup = JupiterRoute("http://jup.test/swap/v1", http, "k")
        with pytest.raises(VenueError) as err:
            await jup.quote(USDC, SOL, 1, "ExactIn", 50)
        assert (
            err.value.code == "timeout" and err.value.message == "Jupiter did not answer in time."
        )

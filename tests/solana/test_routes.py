"""The routes: quotes parsed from both APIs (stand-in), the tolerance rule both ways, and the
plain-words errors (bad key, no route, not a quote)."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from rampart.domain.errors import DataError, VenueError
from rampart.venues.solana.routes import BagsRoute, JupiterRoute, Quote, choose
from rampart_testkit.solana_sim import start_solana_sim

from .client_kit import Recorder, aio
from .venue_kit import SOL, USDC


def q(route: str, mode: str, in_amount: int, out_amount: int) -> Quote:
    return Quote(route, USDC, SOL, mode, in_amount, out_amount, 0, 50)  # type: ignore[arg-type]


def test_exact_in_takes_bags_within_the_tolerance_and_the_best_beyond_it() -> None:
    jup, bags = q("jupiter", "ExactIn", 1000, 100_000), q("bags", "ExactIn", 1000, 99_700)
    assert choose([jup, bags], 30) is bags  # 30 bps worse: within
    assert choose([jup, bags], 29) is jup
    better_bags = q("bags", "ExactIn", 1000, 100_001)
    assert choose([jup, better_bags], 0) is better_bags


def test_exact_out_compares_what_is_paid() -> None:
    jup, bags = q("jupiter", "ExactOut", 100_000, 1000), q("bags", "ExactOut", 100_300, 1000)
    assert choose([jup, bags], 30) is bags
    assert choose([jup, bags], 29) is jup
    assert choose([bags], 0) is bags
    with pytest.raises(VenueError, match="No route gave a quote"):
        choose([], 30)


@aio
async def test_both_routes_quote_the_stand_in_and_build_a_transaction() -> None:
    async with start_solana_sim(slot_ms=0) as sim, httpx.AsyncClient() as http:
        obs = Recorder()
        jup = JupiterRoute(sim.jupiter_url, http, observer=obs)
        bags = BagsRoute(sim.bags_url, http, sim.api_key, observer=obs)
        a, b = await asyncio.gather(
            jup.quote(USDC, SOL, 10**9, "ExactOut", 50),
            bags.quote(USDC, SOL, 10**9, "ExactOut", 50),
        )
        assert a.out_amount == b.out_amount == 10**9
        assert a.platform_fee == 0 and b.platform_fee > 0 and b.platform_fee_mint == USDC
        assert b.threshold >= b.in_amount
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
            await bad.quote(USDC, SOL, 10**9, "ExactOut", 50)
        assert err.value.message == "bags.fm refused the API key." and err.value.code == "auth"
        jup = JupiterRoute(sim.jupiter_url, http)
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
        jup = JupiterRoute("http://jup.test/swap/v1", http)
        with pytest.raises(VenueError) as err:
            await jup.quote(USDC, SOL, 1, "ExactIn", 50)
        assert (
            err.value.code == "timeout" and err.value.message == "Jupiter did not answer in time."
        )

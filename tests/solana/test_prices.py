"""The feed's price: the mid of a small round trip quoted on the venue's routes, Jupiter first
(no platform fee), bags.fm when Jupiter does not answer, one plain sentence when neither does."""

from __future__ import annotations

from decimal import Decimal

import pytest

from rampart.domain.errors import RampartError
from rampart.venues.solana.prices import mid_price

from .venue_kit import Desk, with_desk

D = Decimal
POOL_FEE = D("0.0025")  # the stand-in's pool_fee_bps 25


@pytest.mark.parametrize("price", ["150", "151.37", "97.5"])
def test_the_mid_is_the_price_the_stand_in_was_set_to(price: str) -> None:
    async def body(desk: Desk) -> None:
        desk.sim.set_price("SOL/USDC", price)
        mid = await mid_price(desk.venue, "SOL/USDC")
        p = D(price)
        assert abs(mid - p) <= p * POOL_FEE
        # A one-sided quote would be a whole fee off: the average cancels it to well under
        # a basis point (what is left is the fee squared and 1 USDC's price impact).
        assert abs(mid - p) <= p * D("0.0001")
        assert {q[0] for q in desk.obs.quotes} == {"jupiter"}  # preferred: no platform fee
        assert desk.sim.state()["transactions"] == []  # quotes only, nothing swapped

    with_desk(body)


def test_bags_gives_the_price_when_jupiter_does_not_answer() -> None:
    async def body(desk: Desk) -> None:
        desk.sim.set_price("SOL/USDC", "152")
        desk.sim.add_fault("http5xx", count=5, node="jupiter")
        mid = await mid_price(desk.venue, "SOL/USDC")
        assert abs(mid - 152) <= 152 * POOL_FEE
        assert ("jupiter", False) in desk.obs.quotes and ("bags", True) in desk.obs.quotes

    with_desk(body)


def test_bags_alone_prices_within_the_pool_fee_too() -> None:
    async def body(desk: Desk) -> None:
        desk.sim.set_price("SOL/USDC", "148.2")
        mid = await mid_price(desk.venue, "SOL/USDC")
        assert abs(mid - D("148.2")) <= D("148.2") * POOL_FEE
        assert {q[0] for q in desk.obs.quotes} == {"bags"}

    with_desk(body, route={"routes": ["bags"]})


def test_no_route_answering_is_one_plain_sentence() -> None:
    async def body(desk: Desk) -> None:
        desk.sim.add_fault("http5xx", count=5, node="jupiter")
        with pytest.raises(RampartError) as err:
            await mid_price(desk.venue, "SOL/USDC")
        message = err.value.message
        assert message.startswith("No route would quote SOL/USDC for a price: ")
        assert "Jupiter is failing (HTTP 5" in message and "bags.fm refused the API key" in message
        assert "\n" not in message and message.endswith(".")
        with pytest.raises(RampartError, match="does not trade DOGE/USDC"):
            await mid_price(desk.venue, "DOGE/USDC")

    with_desk(body, bags_api_key="not-the-key")

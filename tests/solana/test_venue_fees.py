"""Platform fees in the asset bags.fm takes them in: on SOL/USDC that is SOL (its reference:
native SOL whenever a leg is SOL), out of what a buy receives and off what a sell pays. The
journal keeps the fee in SOL with its mint; the fill carries its value in USDC; and the books
move exactly what the chain moved. No swap books a partner fee."""

from __future__ import annotations

from decimal import Decimal

import pytest
from pydantic import ValidationError

from rampart.domain.orders import Side
from rampart.venues.solana.journal import FILLED
from rampart.venues.solana.settings import RouteConfig

from .venue_kit import SOL, USDC, Desk, order, with_desk

D = Decimal


@pytest.mark.parametrize("key", ["bags_tolerance_bps", "bags_partner_share"])
def test_the_retired_partner_settings_are_refused_in_plain_words(key: str) -> None:
    with pytest.raises(ValidationError) as err:
        RouteConfig.model_validate({key: 30})
    text = str(err.value)
    assert f"{key} was retired" in text and "prefer: bags" in text


def test_bags_fees_are_booked_in_sol_and_the_books_move_what_the_chain_moved() -> None:
    async def body(desk: Desk) -> None:
        usdc0 = desk.sim.balance(desk.pubkey, USDC)
        sol0 = desk.sim.balance(desk.pubkey, SOL)
        await desk.venue.submit(order("b1", Side.BUY, "0.7"))
        usdc1, sol1 = desk.sim.balance(desk.pubkey, USDC), desk.sim.balance(desk.pubkey, SOL)
        await desk.venue.submit(order("s1", Side.SELL, "0.3"))
        usdc2, sol2 = desk.sim.balance(desk.pubkey, USDC), desk.sim.balance(desk.pubkey, SOL)
        recs = [*await desk.journal.for_client("b1"), *await desk.journal.for_client("s1")]
        assert [(r.route, r.status) for r in recs] == [("bags", FILLED)] * 2
        by_sig = {t["signature"]: t for t in desk.sim.state()["transactions"]}
        for rec in recs:
            tx = by_sig[rec.signature]
            assert tx["fee_mint"] == SOL and tx["platform_fee"] > 0
            assert rec.platform_fee_mint == SOL
            assert rec.platform_fee == D(tx["platform_fee"]).scaleb(-9)  # lamports, not USDC
            assert not hasattr(rec, "partner_fee")
        buy, sell = (r.fill for r in desk.fills())
        assert buy is not None and sell is not None
        # What the chain moved, to the base unit: SOL received by the buy (net of the fee),
        # SOL paid by the sell (the fee comes off it), USDC both ways.
        assert buy.qty == D(sol1 - sol0).scaleb(-9)
        assert buy.notional + buy.fee == D(usdc0 - usdc1).scaleb(-6)
        assert sell.qty == D(sol1 - sol2).scaleb(-9) == D("0.3")
        assert sell.notional - sell.fee == D(usdc2 - usdc1).scaleb(-6)
        # The fee's value in USDC: its SOL at the swap's own price before the fee (a fee
        # booked as if it were USDC would be worth 150 times less).
        for fill, rec in ((buy, recs[0]), (sell, recs[1])):
            assert fill.fee == pytest.approx(rec.platform_fee * fill.price, rel=D("1e-9"))
            assert fill.fee > D("0.3")
        # A buy through bags.fm is sized by its input, and comes out near the order's size.
        assert abs(buy.qty - D("0.7")) <= D("0.7") * 50 / 10_000

    with_desk(body, route={"routes": ["bags"]})


def test_jupiter_swaps_take_no_platform_fee() -> None:
    async def body(desk: Desk) -> None:
        await desk.venue.submit(order("b1", Side.BUY, "0.5"))
        [rec] = await desk.journal.for_client("b1")
        assert rec.route == "jupiter" and rec.status == FILLED
        assert rec.platform_fee == 0 and rec.platform_fee_mint == ""
        [report] = desk.fills()
        assert report.fill is not None and report.fill.qty == D("0.5")

    with_desk(body, route={"routes": ["jupiter"]})

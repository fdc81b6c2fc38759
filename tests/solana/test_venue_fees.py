"""Partner fees: the operator's share of bags.fm's platform fee is known by configuration
(``solana.route.bags_partner_share``); the journal records it on bags swaps, 0 on Jupiter,
and it matches what the stand-in pays the partner, swap by swap."""

from __future__ import annotations

import inspect
from decimal import Decimal

import pytest
from pydantic import ValidationError

from rampart.domain.orders import Side
from rampart.venues.solana.journal import FILLED
from rampart.venues.solana.settings import RouteConfig
from rampart_testkit.solana_sim import start_solana_sim

from .venue_kit import USDC, Desk, order, with_desk

D = Decimal


def test_the_default_share_is_the_stand_ins_default() -> None:
    sim_default = inspect.signature(start_solana_sim).parameters["partner_share"].default
    assert RouteConfig().bags_partner_share == D(str(sim_default)) == D("0.25")


@pytest.mark.parametrize("bad", ["-0.01", "1.5", "NaN"])
def test_a_share_outside_0_to_1_is_refused_in_plain_words(bad: str) -> None:
    with pytest.raises(ValidationError) as err:
        RouteConfig(bags_partner_share=D(bad))
    words = "finite number" if bad == "NaN" else "bags_partner_share must be between 0 and 1"
    assert words in str(err.value)


@pytest.mark.parametrize("share", ["0.25", "0.4"])
def test_bags_swaps_record_the_partner_share_the_stand_in_pays(share: str) -> None:
    async def body(desk: Desk) -> None:
        await desk.venue.submit(order("b1", Side.BUY, "0.7"))
        await desk.venue.submit(order("s1", Side.SELL, "0.3"))
        recs = [*await desk.journal.for_client("b1"), *await desk.journal.for_client("s1")]
        assert [(r.route, r.status) for r in recs] == [("bags", FILLED)] * 2
        state = desk.sim.state()
        by_sig = {t["signature"]: t for t in state["transactions"]}
        for rec in recs:
            tx = by_sig[rec.signature]
            assert tx["platform_fee"] > 0 and tx["partner_fee"] > 0
            # Exactly the stand-in's figures, in USDC base units (6 decimals).
            assert rec.platform_fee == D(tx["platform_fee"]).scaleb(-6)
            assert rec.partner_fee == D(tx["partner_fee"]).scaleb(-6)
            assert rec.partner_fee <= rec.platform_fee * D(share) < rec.partner_fee + D("1e-6")
        paid = D(state["partner_fees"][USDC]).scaleb(-6)
        assert paid == sum(r.partner_fee for r in recs) > 0

    with_desk(
        body,
        sim_options={"partner_share": share},
        route={"routes": ["bags"], "bags_partner_share": share},
    )


def test_jupiter_swaps_record_no_partner_fee() -> None:
    async def body(desk: Desk) -> None:
        await desk.venue.submit(order("b1", Side.BUY, "0.5"))
        [rec] = await desk.journal.for_client("b1")
        assert rec.route == "jupiter" and rec.status == FILLED
        assert rec.platform_fee == 0 and rec.partner_fee == 0

    with_desk(body, route={"routes": ["jupiter"], "bags_partner_share": "0.5"})

"""SolanaVenue against the stand-in: a swap round trip per route with exact balances, the
route rule, and the refusals."""

from __future__ import annotations

import logging
from decimal import Decimal

import pytest
import structlog
import structlog.testing

from rampart.domain.orders import OrderStatus, OrderType, Side
from rampart.venues.solana.journal import FILLED

from .venue_kit import SOL, USDC, Desk, order, with_desk

D = Decimal


def _quote_moved(before: int, after: int) -> Decimal:
    return D(abs(after - before)).scaleb(-6)


@pytest.mark.parametrize("route", ["jupiter", "bags"])
def test_a_round_trip_on_each_route_moves_exactly_what_the_fills_say(route: str) -> None:
    async def body(desk: Desk) -> None:
        venue, sim, pk = desk.venue, desk.sim, desk.pubkey
        usdc0, sol0 = sim.balance(pk, USDC), sim.balance(pk, SOL)
        lamports0 = sim.lamports(pk)
        await venue.submit(order("b1", Side.BUY, "0.5"))
        assert [r.status for r in desk.reports] == [OrderStatus.SUBMITTED, OrderStatus.FILLED]
        buy = desk.reports[-1].fill
        assert buy is not None
        usdc1, sol1 = sim.balance(pk, USDC), sim.balance(pk, SOL)
        # The quantity the chain delivered: exactly the order's on Jupiter (an exact output);
        # on bags.fm (an exact input, sized from a price) within the quantity tolerance.
        assert buy.qty == D(sol1 - sol0).scaleb(-9)
        if route == "jupiter":
            assert buy.qty == D("0.5")
        else:
            assert abs(buy.qty - D("0.5")) <= D("0.5") * 50 / 10_000
        spent = _quote_moved(usdc0, usdc1)
        # The ledger's cost is qty x price + fee: exactly what left the wallet.
        assert buy.notional + buy.fee == spent
        if route == "jupiter":
            assert buy.fee == 0 and buy.price == spent / buy.qty
        else:
            assert buy.fee > 0
        await venue.submit(order("s1", Side.SELL, str(buy.qty)))
        sell = desk.fills()[-1].fill
        assert sell is not None and sell.qty == buy.qty and sell.client_id == "s1"
        usdc2, sol2 = sim.balance(pk, USDC), sim.balance(pk, SOL)
        assert sol2 == sol0
        assert sell.notional - sell.fee == _quote_moved(usdc1, usdc2)
        # What the venue reads back is the chain, exactly.
        balances = await venue.fetch_balances("alice")
        assert balances["USDC"].free == D(usdc2).scaleb(-6)
        assert balances["SOL"].free == D(sol2).scaleb(-9)
        assert balances["SOL.gas"].free == D(sim.lamports(pk)).scaleb(-9)
        assert sim.lamports(pk) < lamports0  # gas paid from the tank, not the traded SOL
        recs = [*await desk.journal.for_client("b1"), *await desk.journal.for_client("s1")]
        assert [r.route for r in recs] == [route, route]
        assert all(r.status == FILLED and r.fee_lamports > 0 for r in recs)
        assert (route, "filled") in desk.obs.swaps
        fills = await venue.fetch_fills("alice", "SOL/USDC")
        assert [f.fill_id for f in fills] == [buy.fill_id, sell.fill_id]
        done = await venue.fetch_order("alice", "b1")
        assert done is not None and done.status is OrderStatus.FILLED and done.filled_qty == buy.qty

    routes = ["jupiter"] if route == "jupiter" else ["bags"]
    with_desk(body, route={"routes": routes})


@pytest.mark.parametrize(("within", "expected"), [(0, "jupiter"), (1000, "bags")])
def test_a_preferred_route_is_taken_only_within_its_bound_and_its_cost_kept(
    within: int, expected: str
) -> None:
    # A small order: Jupiter has no platform fee, so it quotes better; bags is within 10 %.
    async def body(desk: Desk) -> None:
        await desk.venue.submit(order("b1", Side.BUY, "0.1"))
        [rec] = await desk.journal.for_client("b1")
        assert rec.route == expected and rec.status == FILLED
        assert rec.best_route == "jupiter"
        assert (rec.route_cost > 0) == (expected == "bags")
        assert {q[0] for q in desk.obs.quotes} == {"bags", "jupiter"}

    route = {"prefer": "bags", "prefer_within_bps": within, "routes": ["bags", "jupiter"]}
    with_desk(body, route=route)


@pytest.mark.parametrize(("bags_fee_bps", "expected"), [(10, "bags"), (100, "jupiter")])
def test_bags_is_preferred_by_default_within_30_bps_and_the_choice_is_logged(
    bags_fee_bps: int, expected: str
) -> None:
    # No route setting: bags.fm is preferred within 30 bps. The stand-in's bags.fm takes its
    # platform fee on top of the same pool price as Jupiter: 10 bps is inside the cap, 100
    # bps (the stand-in's default) is not.
    async def body(desk: Desk) -> None:
        before = structlog.get_config()["wrapper_class"]
        structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.INFO))
        try:
            with structlog.testing.capture_logs() as logs:
                await desk.venue.submit(order("b1", Side.BUY, "0.1"))
        finally:
            structlog.configure(wrapper_class=before)
        [rec] = await desk.journal.for_client("b1")
        assert rec.route == expected and rec.status == FILLED
        assert rec.best_route == "jupiter"
        assert (rec.route_cost > 0) == (expected == "bags")
        [chosen] = [e for e in logs if e["event"] == "route_chosen"]
        assert chosen["route"] == expected and chosen["best_route"] == "jupiter"
        assert (chosen["prefer"], chosen["within_bps"]) == ("bags", 30)
        # Both quotes, what each pays and receives, and how far bags.fm is behind the best.
        assert set(chosen["quotes"]) == {"bags", "jupiter"}
        assert all(q["in"] > 0 and q["out"] > 0 for q in chosen["quotes"].values())
        behind = chosen["behind_best_bps"]
        assert behind["jupiter"] == 0
        assert (0 < behind["bags"] <= 30) == (expected == "bags")

    with_desk(body, sim_options={"bags_fee_bps": bags_fee_bps})


def test_a_limit_order_is_refused_in_plain_words() -> None:
    async def body(desk: Desk) -> None:
        await desk.venue.submit(order("l1", Side.BUY, "1", OrderType.LIMIT))
        [r] = desk.reports
        assert r.status is OrderStatus.REJECTED and r.code == "unsupported"
        assert r.reason == "The solana venue takes market orders only, not limit orders."

    with_desk(body)


def test_a_bad_bags_key_falls_back_to_jupiter_and_both_failing_is_a_refusal() -> None:
    async def body(desk: Desk) -> None:
        await desk.venue.submit(order("b1", Side.BUY, "0.1"))
        [rec] = await desk.journal.for_client("b1")
        assert rec.route == "jupiter" and ("bags", False) in desk.obs.quotes
        desk.sim.add_fault("http5xx", count=10, node="jupiter")
        await desk.venue.submit(order("b2", Side.BUY, "0.1"))
        last = desk.reports[-1]
        assert last.status is OrderStatus.REJECTED and last.code == "no_quote"
        assert "bags.fm refused the API key" in last.reason
        assert "Jupiter is failing (HTTP 5" in last.reason

    with_desk(body, bags_api_key="not-the-key")


def test_held_brackets_are_reported_and_canceled_here() -> None:
    async def body(desk: Desk) -> None:
        venue = desk.venue
        sl = order("sl", Side.SELL, "1", OrderType.STOP_MARKET)
        tp = order("tp", Side.SELL, "1", OrderType.LIMIT)
        await venue.submit_oco(sl, tp)
        assert [r.status for r in desk.reports] == [OrderStatus.SUBMITTED] * 2
        assert venue.following("alice") == {"sl": True, "tp": True}
        assert venue.followed_orders("alice") == 2
        await venue.cancel("alice", "sl")
        assert desk.reports[-1].status is OrderStatus.CANCELED
        assert venue.following("alice") == {"tp": True}
        assert desk.sim.state()["transactions"] == []

    with_desk(body)

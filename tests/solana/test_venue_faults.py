"""Each fault ends with exactly one fill or one plain REJECTED; a crash between send and
confirmation is resolved after the restart with the fill reported exactly once."""

from __future__ import annotations

from decimal import Decimal

from rampart.domain.orders import OrderStatus, Side
from rampart.venues.solana.journal import EXPIRED, FAILED, FILLED, SENT

from .venue_kit import SOL, Desk, order, with_desk


def _one_fill(desk: Desk, cid: str) -> None:
    fills = [r for r in desk.fills() if r.client_id == cid]
    assert len(fills) == 1 and fills[0].fill is not None
    assert fills[0].fill.qty == Decimal("0.2")
    assert [r.status for r in desk.reports if r.client_id == cid][-1] is OrderStatus.FILLED


def test_a_swap_that_never_lands_is_quoted_again_once_its_blockhash_expired() -> None:
    # ``expire``: no copy of it lands (a dropped one lands from a rebroadcast: test_rebroadcast)
    async def body(desk: Desk) -> None:
        desk.sim.add_fault("expire", count=1)
        sol0 = desk.sim.balance(desk.pubkey, SOL)
        await desk.venue.submit(order("b1", Side.BUY, "0.2"))
        _one_fill(desk, "b1")
        recs = await desk.journal.for_client("b1")
        assert [r.status for r in recs] == [EXPIRED, FILLED]
        assert desk.sim.balance(desk.pubkey, SOL) - sol0 == 2 * 10**8  # bought once
        assert ("jupiter", "expired") in desk.obs.swaps

    with_desk(body, slots_per_sleep=5, route={"routes": ["jupiter"]})


def test_a_swap_that_slipped_is_quoted_and_sent_again() -> None:
    async def body(desk: Desk) -> None:
        desk.sim.add_fault("slippage", count=1)
        await desk.venue.submit(order("b1", Side.BUY, "0.2"))
        _one_fill(desk, "b1")
        recs = await desk.journal.for_client("b1")
        assert [r.status for r in recs] == [FAILED, FILLED]
        assert recs[0].err == "price moved past the slippage limit" and recs[0].fee_lamports > 0
        assert ("jupiter", "slippage") in desk.obs.swaps

    with_desk(body, route={"routes": ["jupiter"]})


def test_slippage_on_the_last_attempt_is_a_plain_rejection() -> None:
    async def body(desk: Desk) -> None:
        desk.sim.add_fault("slippage", count=5)
        await desk.venue.submit(order("b1", Side.BUY, "0.2"))
        assert desk.fills() == []
        last = desk.reports[-1]
        assert last.status is OrderStatus.REJECTED and last.code == "attempts_exhausted"
        assert last.reason == (
            "The swap did not go through in 2 attempts (price moved past the slippage limit)."
        )
        assert desk.venue.following("alice") == {}

    with_desk(body, max_attempts=2, route={"routes": ["jupiter"]})


def test_a_slow_confirmation_is_waited_for_without_a_second_send() -> None:
    async def body(desk: Desk) -> None:
        desk.sim.add_fault("slow_confirm", count=1, slots=20)
        await desk.venue.submit(order("b1", Side.BUY, "0.2"))
        _one_fill(desk, "b1")
        assert [r.status for r in await desk.journal.for_client("b1")] == [FILLED]

    with_desk(body, route={"routes": ["jupiter"]})


def test_a_slow_confirmation_past_the_timeout_is_settled_by_poll() -> None:
    async def body(desk: Desk) -> None:
        desk.sim.add_fault("slow_confirm", count=1, slots=20)
        await desk.venue.submit(order("b1", Side.BUY, "0.2"))
        assert desk.fills() == [] and desk.venue.following("alice") == {"b1": False}
        for _ in range(50):  # bounded: the chain moves on only when told
            await desk.sim.advance(1)
            await desk.venue.poll()
            if desk.fills():
                break
        _one_fill(desk, "b1")
        await desk.venue.poll()
        assert len(desk.fills()) == 1

    with_desk(body, confirm_timeout_s=0.3, route={"routes": ["jupiter"]})


def test_the_primary_node_failing_mid_swap_hands_over_to_the_next() -> None:
    async def body(desk: Desk) -> None:
        desk.sim.add_fault("http5xx", count=3, node="a")
        await desk.venue.submit(order("b1", Side.BUY, "0.2"))
        _one_fill(desk, "b1")
        assert desk.obs.failovers[0][:2] == (
            desk.venue.rpc.endpoints[0].name,
            desk.venue.rpc.endpoints[1].name,
        )

    with_desk(body, route={"routes": ["jupiter"]})


def test_a_crash_between_send_and_confirmation_reports_the_fill_once_after_restart() -> None:
    async def body(desk: Desk) -> None:
        buy = order("b1", Side.BUY, "0.2")
        await desk.venue.submit(buy)  # the chain does not move: it is still in flight
        [rec] = await desk.journal.for_client("b1")
        assert rec.status == SENT and desk.fills() == []
        # "Crash": the first venue is gone; a new one over the same journal follows the order.
        desk.reports.clear()
        fresh = desk.new_venue(route={"routes": ["jupiter"]})
        fresh.follow(buy)
        assert fresh.following("alice") == {"b1": False}
        await desk.sim.advance(3)
        await fresh.poll()
        await fresh.poll()
        [fill] = desk.fills()
        assert fill.fill is not None and fill.fill.fill_id == f"b1:{rec.signature}"
        assert [r.status for r in await desk.journal.for_client("b1")] == [FILLED]
        assert fresh.following("alice") == {}
        # Another restart that already booked it: nothing is reported again.
        again = desk.new_venue(route={"routes": ["jupiter"]})
        again.follow(buy, booked_fill_ids=[fill.fill.fill_id])
        await again.poll()
        assert len(desk.fills()) == 1
        assert len(desk.sim.state()["transactions"]) == 1

    with_desk(body, slots_per_sleep=0, confirm_timeout_s=0.2, route={"routes": ["jupiter"]})


def test_an_order_followed_but_never_journaled_was_never_sent() -> None:
    async def body(desk: Desk) -> None:
        desk.venue.follow(order("b9", Side.BUY, "0.2"))
        await desk.venue.poll()
        last = desk.reports[-1]
        assert last.status is OrderStatus.REJECTED and last.code == "never_sent"
        assert desk.sim.state()["transactions"] == []

    with_desk(body)

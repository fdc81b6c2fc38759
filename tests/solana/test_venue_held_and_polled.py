"""The Solana venue's held bracket legs, its polls and its restarts (survivors of
``venues/solana/venue.py``): what a cancel answers for each kind of order, the legs as the
checkpoint keeps them, a poll that settles what was sent past the legs held, a refresh of one
account, a failed poll said in the log, and the words and times of what a restart reports."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

import pytest
import structlog
from solders.keypair import Keypair
from structlog.testing import capture_logs

from rampart.clock import SimClock
from rampart.domain.errors import VenueError
from rampart.domain.orders import Order, OrderRole, OrderStatus, OrderType, Side
from rampart.venues.solana.journal import EXPIRED, FILLED, SENT
from rampart.venues.solana.venue import SolanaVenue

from .venue_kit import USDC, Desk, order, with_desk

D = Decimal
IN_FLIGHT = {"slots_per_sleep": 0, "confirm_timeout_s": 0.2, "route": {"routes": ["jupiter"]}}
"""Settings under which a submit returns with its swap sent and not landed (the chain moves
only when the test moves it)."""


@contextmanager
def warnings_logged() -> Iterator[list[dict[str, Any]]]:
    """The log entries of the block, warnings included (the suite logs errors only)."""
    quiet = structlog.get_config()["wrapper_class"]
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.DEBUG))
    try:
        with capture_logs() as logs:
            yield logs
    finally:
        structlog.configure(wrapper_class=quiet)


def legs(qty: str = "0.1") -> tuple[Order, Order]:
    return (
        order("sl", Side.SELL, qty, OrderType.STOP_MARKET),
        order("tp", Side.SELL, qty, OrderType.LIMIT),
    )


def test_what_a_cancel_answers_for_each_kind_of_order() -> None:
    async def body(desk: Desk) -> None:
        venue = desk.venue
        await venue.submit_oco(*legs())
        await venue.submit(order("b1", Side.BUY, "0.1"))
        with pytest.raises(VenueError) as unknown:
            await venue.cancel("alice", "nope")
        assert unknown.value.code == "not_found"
        assert unknown.value.message == "The solana venue holds no open order nope."
        # Another account's order is not found for this one, and stays held.
        with pytest.raises(VenueError) as other:
            await venue.cancel("bob", "sl")
        assert (other.value.code, other.value.message) == (
            "not_found",
            "The solana venue holds no open order sl.",
        )
        with pytest.raises(VenueError) as sent:
            await venue.cancel("alice", "b1")
        assert sent.value.code == "not_cancelable"
        assert sent.value.message == (
            "A swap already sent cannot be canceled; its outcome is reported when known."
        )
        assert venue.following("alice") == {"sl": True, "tp": True, "b1": False}
        desk.reports.clear()
        await venue.cancel("alice", "sl")
        [canceled] = desk.reports
        assert (canceled.client_id, canceled.status) == ("sl", OrderStatus.CANCELED)
        assert canceled.reason == "canceled"
        assert venue.following("alice") == {"tp": True, "b1": False}
        # Once filled, a cancel of it has nothing to do and says nothing.
        await desk.sim.advance(2)
        await venue.poll()
        assert [r.status for r in desk.reports[1:]] == [OrderStatus.FILLED]
        await venue.cancel("alice", "b1")
        assert len(desk.reports) == 2

    with_desk(body, **IN_FLIGHT)


def test_held_legs_are_checkpointed_with_their_symbol_and_partner() -> None:
    async def body(desk: Desk) -> None:
        await desk.venue.submit_oco(*legs("0.4"))
        leg = {"account_id": "alice", "symbol": "SOL/USDC", "side": "sell", "qty": "0.4"}
        assert desk.venue.snapshot() == {
            "held": [
                {**leg, "client_id": "sl", "partner": "tp"},
                {**leg, "client_id": "tp", "partner": "sl"},
            ]
        }
        # A checkpoint from before legs were kept holds nothing, and loads as nothing.
        restarted = desk.new_venue()
        restarted.load_snapshot({})
        assert restarted.following("alice") == {}
        assert restarted.snapshot() == {"held": []}

    with_desk(body)


def test_a_poll_settles_what_was_sent_and_leaves_the_held_legs_alone() -> None:
    async def body(desk: Desk) -> None:
        await desk.venue.submit_oco(*legs())
        await desk.venue.submit(order("b1", Side.BUY, "0.1"))
        await desk.sim.advance(2)
        desk.reports.clear()
        await desk.venue.poll()
        assert [(r.client_id, r.status) for r in desk.reports] == [("b1", OrderStatus.FILLED)]
        assert desk.venue.following("alice") == {"sl": True, "tp": True}

    with_desk(body, **IN_FLIGHT)


def test_a_refresh_of_one_account_settles_its_swaps_only() -> None:
    async def body(desk: Desk) -> None:
        bob = Keypair()
        desk.sim.fund(str(bob.pubkey()), lamports=10**9, tokens={USDC: 1_000 * 10**6})
        await desk.venue.connect_account("bob", str(bob.pubkey()), str(bob))
        await desk.venue.submit(order("b1", Side.BUY, "0.1"))
        k1 = Order("k1", "bob", "SOL/USDC", Side.BUY, OrderType.MARKET, D("0.1"), OrderRole.ENTRY)
        await desk.venue.submit(k1)
        await desk.sim.advance(2)
        await desk.venue.refresh("bob")
        assert [r.client_id for r in desk.fills()] == ["k1"]
        [alice] = await desk.journal.for_client("b1")
        assert alice.status == SENT and desk.venue.following("alice") == {"b1": False}
        await desk.venue.refresh("alice")
        assert [r.client_id for r in desk.fills()] == ["k1", "b1"]

    with_desk(body, **IN_FLIGHT)


def test_a_poll_that_fails_is_said_in_the_log_and_asked_again() -> None:
    async def body(desk: Desk) -> None:
        desk.venue.rpc.sleep = desk.chain_sleep(0)  # the pool's backoff: no wall-time wait
        await desk.venue.submit(order("b1", Side.BUY, "0.1"))
        desk.sim.add_fault("down", node="a")
        desk.sim.add_fault("down", node="b")
        with warnings_logged() as logs:
            await desk.venue.poll()
        failed = [e for e in logs if e["event"] == "swap_poll_failed"]
        assert [(e["log_level"], e["order"]) for e in failed] == [("warning", "b1")]
        assert failed[0]["error"].startswith("Every Solana RPC node failed the getBlockHeight")
        assert desk.fills() == []
        desk.sim.clear_faults()
        await desk.sim.advance(2)
        await desk.venue.poll()
        assert [r.client_id for r in desk.fills()] == ["b1"]

    with_desk(body, **IN_FLIGHT)


def test_an_order_never_sent_before_a_restart_is_rejected_in_plain_words() -> None:
    async def body(desk: Desk) -> None:
        desk.venue.follow(order("b9", Side.BUY, "0.2"))
        await desk.venue.poll()
        [r] = desk.reports
        assert (r.status, r.code) == (OrderStatus.REJECTED, "never_sent")
        assert r.reason == "The swap was never sent before the restart."

    with_desk(body)


def test_an_order_whose_last_attempt_ended_before_a_restart_is_open_until_given_up() -> None:
    async def body(desk: Desk) -> None:
        desk.sim.add_fault("expire", count=1)
        buy = order("b1", Side.BUY, "0.2")
        await desk.venue.submit(buy)
        [rec] = await desk.journal.for_client("b1")
        assert rec.status == EXPIRED
        # The books missed the rejection: after the restart the order is followed again.
        desk.reports.clear()
        restarted = desk.new_venue(max_attempts=1, route={"routes": ["jupiter"]})
        restarted.follow(buy)
        followed = await restarted.fetch_order("alice", "b1")
        assert followed is not None and followed.status is OrderStatus.SUBMITTED
        await restarted.poll()
        [r] = desk.reports
        assert (r.status, r.code) == (OrderStatus.REJECTED, "attempts_exhausted")
        assert r.reason == (
            "The swap did not go through in 1 attempts (its blockhash expired before it landed)."
        )
        done = await restarted.fetch_order("alice", "b1")
        assert done is not None and done.status is OrderStatus.REJECTED
        assert desk.venue.following("alice") == {} and restarted.following("alice") == {}

    with_desk(body, slots_per_sleep=5, max_attempts=1, route={"routes": ["jupiter"]})


def test_a_fill_found_in_the_journal_after_a_restart_keeps_its_journal_time() -> None:
    async def body(desk: Desk) -> None:
        buy = order("b1", Side.BUY, "0.2")
        desk.venue.clock.advance(5_000)  # type: ignore[attr-defined]
        await desk.venue.submit(buy)
        await desk.sim.advance(2)
        await desk.venue.poll()
        [rec] = await desk.journal.for_client("b1")
        assert rec.status == FILLED and rec.ts == 1_700_000_005_000
        desk.reports.clear()
        restarted = desk.new_venue(route={"routes": ["jupiter"]})
        restarted.follow(buy)  # its fill not booked yet: reported from the journal
        await restarted.poll()
        [r] = desk.reports
        assert r.fill is not None and r.status is OrderStatus.FILLED
        assert (r.fill.fill_id, r.fill.ts, r.fill.qty) == (
            f"b1:{rec.signature}",
            1_700_000_005_000,
            D("0.2"),
        )
        assert r.venue_order_id == rec.signature
        await restarted.poll()
        assert len(desk.reports) == 1

    with_desk(body, **IN_FLIGHT)


def test_a_poll_does_not_wait_behind_a_swap_its_submit_is_confirming() -> None:
    async def body(desk: Desk) -> None:
        submitting = asyncio.create_task(desk.venue.submit(order("b1", Side.BUY, "0.2")))
        while not desk.reports:  # SUBMITTED: the submit now holds the swap for its checks
            await asyncio.sleep(0)
        await desk.venue.poll()
        assert not submitting.done()  # the poll passed it by
        await submitting
        assert [r.client_id for r in desk.fills()] == ["b1"]

    with_desk(body, route={"routes": ["jupiter"]})


def test_a_new_attempt_for_an_account_without_its_wallet_is_rejected_in_words() -> None:
    # The wallet was not connected again after the restart: the order's next attempt cannot
    # be signed, and the order ends with the reason.
    async def body(desk: Desk) -> None:
        desk.sim.add_fault("expire", count=1)
        buy = order("b1", Side.BUY, "0.2")
        await desk.venue.submit(buy)
        desk.reports.clear()
        restarted = SolanaVenue(
            desk.config(max_attempts=2, route={"routes": ["jupiter"]}),
            clock=SimClock(1_700_000_000_000),
            journal=desk.journal,
            http=desk.http,
            sleep=desk.chain_sleep(),
        )
        restarted.set_listener(desk.reports.append)
        restarted.follow(buy)
        await restarted.poll()
        [r] = desk.reports
        assert (r.status, r.code) == (OrderStatus.REJECTED, "data")
        assert r.reason == "Account alice has no Solana wallet; import one with 'rampart wallet'."
        assert len(desk.sim.state()["transactions"]) == 1

    with_desk(body, slots_per_sleep=5, max_attempts=1, route={"routes": ["jupiter"]})

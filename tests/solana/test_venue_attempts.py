"""The Solana venue's attempts of one order (issue 33, survivors of
``venues/solana/venue.py``): each attempt counted once, a send the node refuses journaled and
rejected, a dropped send rebroadcast after exactly ``rebroadcast_ms``, and a sell of SOL
wrapping the whole input when the wrapped SOL held falls short of it."""

from __future__ import annotations

from decimal import Decimal

from rampart.domain.orders import OrderStatus, Side
from rampart.venues.solana.journal import FAILED, FILLED, REFUSED

from .venue_kit import SOL, Desk, order, with_desk

D = Decimal
NO_CREDIT = (
    "Transaction simulation failed: Attempt to debit an account but found no record of a "
    "prior credit."
)


def test_each_attempt_is_counted_once() -> None:
    async def body(desk: Desk) -> None:
        desk.sim.add_fault("slippage", count=5)
        await desk.venue.submit(order("b1", Side.BUY, "0.2"))
        recs = await desk.journal.for_client("b1")
        assert [(r.attempt, r.status) for r in recs] == [(1, FAILED), (2, FAILED), (3, FAILED)]
        last = desk.reports[-1]
        assert last.status is OrderStatus.REJECTED and last.code == "attempts_exhausted"
        assert last.reason == (
            "The swap did not go through in 3 attempts (price moved past the slippage limit)."
        )

    with_desk(body, max_attempts=3, route={"routes": ["jupiter"]})


def test_a_send_the_node_refuses_is_journaled_refused_and_the_order_rejected() -> None:
    # A wallet without lamports for the network fee: the node refuses the transaction.
    async def body(desk: Desk) -> None:
        desk.sim.chain.wallet(desk.pubkey).lamports = 0
        await desk.venue.submit(order("b1", Side.BUY, "0.2"))
        [rec] = await desk.journal.for_client("b1")
        assert (rec.status, rec.err) == (REFUSED, NO_CREDIT)
        assert desk.obs.swaps == [("jupiter", "refused")]
        last = desk.reports[-1]
        assert (last.status, last.code) == (OrderStatus.REJECTED, "refused")
        assert last.reason == f"The Solana node refused the swap: {NO_CREDIT}."
        assert desk.sim.state()["transactions"] == []
        assert desk.venue.following("alice") == {}

    with_desk(body, route={"routes": ["jupiter"]})


def test_a_dropped_send_is_rebroadcast_after_exactly_rebroadcast_ms() -> None:
    # A check every 0.1 s, each moving the chain a slot: a copy every 2 s is sent on the
    # 20th check, 19 slots after the first send, and lands in the next slot.
    async def body(desk: Desk) -> None:
        desk.sim.add_fault("drop", count=1)
        start = desk.sim.chain.slot
        await desk.venue.submit(order("b1", Side.BUY, "0.2"))
        [tx] = desk.sim.state()["transactions"]
        assert tx["slot"] - start == 20
        [rec] = await desk.journal.for_client("b1")
        assert rec.status == FILLED

    with_desk(body, route={"routes": ["jupiter"]})


def test_a_sell_of_sol_wraps_native_sol_when_the_wrapped_sol_is_short_of_its_input() -> None:
    # 0.1 SOL wrapped and 1 SOL native: a sell of 0.5 SOL needs 0.5 wrapped, so the native SOL
    # above the gas reserve is wrapped first. Each wait is the configured poll, never another.
    async def body(desk: Desk) -> None:
        pk = desk.pubkey
        desk.sim.transfer(pk, SOL, desk.sim.balance(pk, SOL) - 10**8)
        slept: list[float] = []
        chain = desk.chain_sleep()

        async def sleep(seconds: float) -> None:
            slept.append(seconds)
            await chain(seconds)

        desk.venue.sleep = sleep
        await desk.venue.submit(order("s1", Side.SELL, "0.5"))
        [report] = desk.fills()
        assert report.fill is not None and report.fill.qty == D("0.5")
        [rec] = await desk.journal.for_client("s1")
        assert rec.status == FILLED
        # All the native SOL above the 0.05 reserve was wrapped; 0.5 of it was sold.
        assert desk.sim.balance(pk, SOL) == 10**8 + (10**9 - 5 * 10**7) - 5 * 10**8
        assert slept and set(slept) == {0.1}

    with_desk(body, route={"routes": ["jupiter"]})

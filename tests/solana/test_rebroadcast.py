"""A transaction dropped on its way to the leader is sent again, the same signed bytes, every
``solana.rebroadcast_ms`` until it lands or its blockhash expires: one
send and a wait of 60-90 s for the blockhash to run out is what a dropped swap cost before."""

from __future__ import annotations

from rampart.domain.orders import Side
from rampart.venues.solana.journal import FILLED

from .venue_kit import SOL, Desk, order, with_desk

VALID_SLOTS = 150


def test_a_dropped_swap_is_rebroadcast_and_lands_on_its_first_attempt() -> None:
    async def body(desk: Desk) -> None:
        desk.sim.add_fault("drop", count=1)
        start, sol0 = desk.sim.chain.slot, desk.sim.balance(desk.pubkey, SOL)
        await desk.venue.submit(order("b1", Side.BUY, "0.2"))
        recs = await desk.journal.for_client("b1")
        assert [r.status for r in recs] == [FILLED]  # no second quote: the first one landed
        assert desk.sim.balance(desk.pubkey, SOL) - sol0 == 2 * 10**8  # bought once
        sends = [t for t in desk.sim.state()["transactions"] if t["signature"] == recs[0].signature]
        assert len(sends) == 1  # one transaction, whatever the number of sends
        # A poll every 0.1 s moving the chain a slot: rebroadcast every 2 s is 20 slots, far
        # inside the 150 a blockhash lives.
        assert desk.sim.chain.slot - start < 40

    with_desk(body, route={"routes": ["jupiter"]})


def test_an_expired_swap_is_still_sent_again_only_once_its_blockhash_ran_out() -> None:
    async def body(desk: Desk) -> None:
        desk.sim.add_fault("expire", count=1)
        start = desk.sim.chain.slot
        await desk.venue.submit(order("b1", Side.BUY, "0.2"))
        recs = await desk.journal.for_client("b1")
        assert [r.status for r in recs] == ["expired", FILLED]
        assert desk.sim.chain.slot - start > VALID_SLOTS

    with_desk(body, route={"routes": ["jupiter"]})

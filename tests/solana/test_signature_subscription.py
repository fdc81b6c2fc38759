"""Confirmation by signatureSubscribe over the stand-in's PubSub websocket, and the polling
that stands in when the websocket is down or silent. The venue's ``sleep`` moves the chain
one slot a nap (no wall-time waits); with ``confirm_fallback_s`` at its 600 s ceiling a
subscribed swap is never polled before the node tells, so a fill proves the notification."""

from __future__ import annotations

from typing import Any

from rampart.domain.orders import OrderStatus, Side
from rampart.venues.solana.venue import SolanaVenue
from rampart_testkit.solana_sim.pubsub import PubSub

from .venue_kit import Desk, order, with_desk

QUICK = {"confirm_poll_s": 0.05, "confirm_timeout_s": 5}
"""100 naps, i.e. 100 slots, to confirm: far more than the 2 a swap needs."""


def _status_reads(venue: SolanaVenue, pubsub: PubSub) -> list[int]:
    """Each getSignatureStatuses call, as how many notifications the node had sent then."""
    reads: list[int] = []
    read = venue.rpc.signature_statuses

    async def counted(signatures: Any) -> Any:
        reads.append(pubsub.notified)
        return await read(signatures)

    venue.rpc.signature_statuses = counted  # type: ignore[method-assign]
    return reads


def _filled(desk: Desk, cid: str) -> bool:
    return any(r.client_id == cid and r.status is OrderStatus.FILLED for r in desk.reports)


def test_a_swap_is_confirmed_by_its_signature_subscription() -> None:
    async def body(desk: Desk) -> None:
        pubsub = desk.sim.context.pubsub
        venue = desk.new_venue(
            ws_urls=[desk.sim.ws_url("a")], confirm_fallback_s=600, confirm_race=False, **QUICK
        )
        reads = _status_reads(venue, pubsub)
        await venue.submit(order("c1", Side.BUY, "0.1"))
        assert _filled(desk, "c1")
        assert desk.sim.state()["requests"]["signatureSubscribe"] == 1
        assert pubsub.notified == 1
        # Not one status read before the node told: the subscription confirmed the swap.
        assert reads and reads[0] == 1
        assert venue.confirms.watch is not None and venue.confirms.watch.connected
        # The node dropped the subscription with its notification; nothing is left open.
        assert all(not sock.subs for sock in pubsub.sockets)
        await venue.aclose()

    with_desk(body)


def test_the_swap_is_confirmed_by_polling_when_the_websocket_is_down() -> None:
    async def body(desk: Desk) -> None:
        desk.sim.add_fault("down", node="ws")  # the websocket's node refuses every connection
        venue = desk.new_venue(ws_urls=[desk.sim.ws_url("ws")], confirm_fallback_s=600, **QUICK)
        reads = _status_reads(venue, desk.sim.context.pubsub)
        await venue.submit(order("c1", Side.BUY, "0.1"))
        assert _filled(desk, "c1")
        assert venue.confirms.watch is not None and not venue.confirms.watch.connected
        assert "signatureSubscribe" not in desk.sim.state()["requests"]
        assert len(reads) >= 2  # polled: sent at slot S, confirmed at S+2
        await venue.aclose()

    with_desk(body)


def test_a_silent_websocket_is_covered_by_the_fallback_poll() -> None:
    async def body(desk: Desk) -> None:
        pubsub = desk.sim.context.pubsub
        pubsub.silent.add("a")  # takes the subscription, never notifies
        venue = desk.new_venue(
            ws_urls=[desk.sim.ws_url("a")], confirm_fallback_s=0.5, confirm_race=False, **QUICK
        )
        reads = _status_reads(venue, pubsub)
        await venue.submit(order("c1", Side.BUY, "0.1"))
        assert _filled(desk, "c1")
        assert desk.sim.state()["requests"]["signatureSubscribe"] == 1
        assert pubsub.notified == 0
        # Read every 10th nap (0.5 s / 0.05 s), not on each: the websocket saved the rest.
        assert 1 <= len(reads) <= 2
        await venue.aclose()

    with_desk(body)


def test_raced_polling_confirms_a_swap_the_websocket_has_not_told_of_yet() -> None:
    """The default: while the subscription is open the status is polled on every nap too, so a
    node whose PubSub runs behind (here: never tells) delays nothing, whatever the fallback."""

    async def body(desk: Desk) -> None:
        pubsub = desk.sim.context.pubsub
        pubsub.silent.add("a")
        venue = desk.new_venue(ws_urls=[desk.sim.ws_url("a")], confirm_fallback_s=600, **QUICK)
        reads = _status_reads(venue, pubsub)
        await venue.submit(order("c1", Side.BUY, "0.1"))
        assert _filled(desk, "c1")
        assert desk.sim.state()["requests"]["signatureSubscribe"] == 1
        assert pubsub.notified == 0
        # Sent at slot S, confirmed at S+2: the third nap's read at the latest.
        assert 2 <= len(reads) <= 3
        await venue.aclose()

    with_desk(body)

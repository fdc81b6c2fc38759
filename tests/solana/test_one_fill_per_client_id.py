"""A client order id is reported filled at most once, however often the venue is asked to
follow it again (mutant S1: without the guard in ``SolanaVenue._report_fill`` an
order followed again after its fill was reported, with the fill not passed as booked, came
back as a second fill: a second position for one intent in the books)."""

from __future__ import annotations

from rampart.domain.orders import Side

from .venue_kit import Desk, order, with_desk


def test_an_order_followed_again_after_its_fill_is_not_reported_filled_twice() -> None:
    async def body(desk: Desk) -> None:
        buy = order("b1", Side.BUY, "0.2")
        await desk.venue.submit(buy)
        assert [r.client_id for r in desk.fills()] == ["b1"]
        # Reconciliation hands the order back (its report was lost on the way, so the books
        # name no booked fill): the venue finds it filled in its journal and stays silent.
        desk.venue.follow(buy)
        await desk.venue.poll()
        await desk.venue.poll()
        assert [r.client_id for r in desk.fills()] == ["b1"]
        assert len(desk.sim.state()["transactions"]) == 1  # and nothing was sent again

    with_desk(body, route={"routes": ["jupiter"]})

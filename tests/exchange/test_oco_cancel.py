"""Cancelling a pair resting as the exchange's own OCO list, through the real ccxt client
against the simulator: the first leg's cancel takes the list whole, so the partner
is booked canceled with no request of its own. Cancelled one by one, the partner's cancel was
refused as an unknown order and then looked up: two wasted requests a pair, 11 s of a shard's
first candle after a takeover on a starved machine."""

from __future__ import annotations

import asyncio

import pytest

from rampart.domain.errors import VenueError
from rampart.domain.orders import OrderStatus

from .helpers import Rig, rig
from .test_venue_sim import HELD, _bracket

ORDER = "/api/v3/order"


def _requests(r: Rig) -> int:
    return sum(r.sim.context.requests.values())


def test_cancelling_one_leg_books_the_list_canceled_without_asking_about_the_other() -> None:
    async def go() -> None:
        async with rig() as r:
            await r.venue.submit(r.order(qty="0.01"))
            stop, take = await _bracket(r, HELD, "0.9", "1.1")
            r.reports.clear()
            before, cancels = _requests(r), r.sim.context.requests[ORDER]
            await r.venue.cancel("a1", stop.client_id)
            # One request, the cancel: both legs are gone on the exchange and in the reports.
            assert _requests(r) - before == 1 and r.sim.context.requests[ORDER] - cancels == 1
            assert r.sim.exchange.sub("a1").open == {}
            assert r.statuses(stop.client_id) == [OrderStatus.CANCELED]
            assert r.statuses(take.client_id) == [OrderStatus.CANCELED]
            assert r.venue.tracked() == []
            # The partner's own cancel is refused here, without a request.
            with pytest.raises(VenueError) as info:
                await r.venue.cancel("a1", take.client_id)
            assert info.value.code == "not_found"
            assert _requests(r) - before == 1
            # The exchange agrees: both canceled, neither traded.
            for leg in (stop, take):
                seen = await r.venue.fetch_order("a1", leg.client_id)
                assert seen is not None and seen.status is OrderStatus.CANCELED
                assert seen.filled_qty == 0

    asyncio.run(go())


def test_a_leg_whose_partner_filled_is_not_booked_canceled_twice() -> None:
    async def go() -> None:
        async with rig() as r:
            await r.venue.submit(r.order(qty="0.01"))
            stop, take = await _bracket(r, HELD, "0.999", "1.5")
            r.reports.clear()
            for _ in range(300):  # the stop trades; its partner expires on the exchange
                await r.advance(1)
                if not r.sim.exchange.sub("a1").open:
                    break
            # Not yet polled: the cancel of the take-profit is refused (the list is done), and
            # its real state, expired, is what is booked; the stop's fill is not lost.
            await r.venue.cancel("a1", take.client_id)
            await r.venue.poll()
            assert r.statuses(take.client_id) == [OrderStatus.EXPIRED]
            assert len(r.fills(stop.client_id)) == 1

    asyncio.run(go())

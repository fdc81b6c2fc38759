"""Protection on a venue that only lowers a resting pair in place (``Amend.DOWN``, Binance's
Order Amend Keep Priority): a pair larger than the holding is amended, never canceled; a pair
growing with its entry is canceled and replaced exactly as on a venue that cannot amend (the
same placements, at most 3 re-sizes); an amend the venue refuses falls back to cancel-and-replace
and changes nothing else."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from decimal import Decimal

from rampart.domain.errors import VenueError
from rampart.trading.engine import Engine
from rampart.trading.ports import Amend
from rampart.trading.protection import MAX_RESIZES, PROTECTIVE

from .held import HeldVenue, held
from .helpers import SYMBOL

D = Decimal


class DownVenue(HeldVenue):
    """The held venue, lowering a resting pair in place; it refuses to raise one, as Binance."""

    capabilities = replace(HeldVenue.capabilities, amend=Amend.DOWN)

    def __init__(self) -> None:
        super().__init__()
        self.amends: list[Decimal] = []
        self.refuse_amends = False

    async def amend_oco(
        self, account_id: str, stop_id: str, take_id: str, remaining: Decimal
    ) -> None:
        legs = (self.open[stop_id], self.open[take_id])
        if self.refuse_amends or remaining >= min(leg.remaining for leg in legs):
            raise VenueError("Order amend (quantity increase) is not supported.", code="refused")
        self.amends.append(remaining)
        for leg in legs:
            leg.qty = leg.filled_qty + remaining


async def _grow(venue: HeldVenue, parts: list[int]) -> list[tuple[Decimal, Decimal]]:
    engine, _ = await held(str(parts[0]), venue)
    (entry,) = venue.entries()
    for minute, part in enumerate(parts[1:], start=1):
        engine.executor.clock.set(minute * 60_000)  # type: ignore[attr-defined]  # a SimClock
        venue.fill(entry, D(part))
        await engine.executor.drain()
    return venue.pairs


def test_growth_is_canceled_and_replaced_as_on_a_venue_that_cannot_amend() -> None:
    parts = [1, 1, 2, 1, 3, 2, 4, 1, 1, 2]
    down = DownVenue()
    grown = asyncio.run(_grow(down, parts))
    assert down.amends == []
    assert grown == asyncio.run(_grow(HeldVenue(), parts))
    assert 1 < len(grown) <= 1 + MAX_RESIZES


async def _shrunk(venue: DownVenue) -> Engine:
    """5 coins held under a pair of 5; 2 of them leave the account outside Rampart (booked as
    reconciliation would), and protection runs."""
    engine, _ = await held("5", venue)
    acct = engine.accounts["a1"]
    acct.ledger.positions[SYMBOL].qty -= 2
    await engine.executor.protection.ensure(acct, SYMBOL)
    await engine.executor.drain()
    return engine


def test_a_pair_larger_than_the_holding_is_lowered_in_place() -> None:
    venue = DownVenue()
    engine = asyncio.run(_shrunk(venue))
    assert venue.amends == [D(3)] and venue.cancels == [] and len(venue.pairs) == 1
    legs = engine.accounts["a1"].working(SYMBOL, PROTECTIVE)
    assert sorted(o.client_id for o in legs) == sorted(
        c for c, o in venue.open.items() if o.role in PROTECTIVE
    )
    assert {o.remaining for o in legs} == {D(3)}
    assert {venue.open[o.client_id].remaining for o in legs} == {D(3)}


def test_an_amend_the_venue_refuses_falls_back_to_cancel_and_replace() -> None:
    venue = DownVenue()
    venue.refuse_amends = True
    engine = asyncio.run(_shrunk(venue))
    assert venue.amends == [] and len(venue.cancels) == 2
    assert venue.pairs == [(D(5), D(5)), (D(3), D(3))]
    legs = engine.accounts["a1"].working(SYMBOL, PROTECTIVE)
    assert {o.remaining for o in legs} == {D(3)} and len(legs) == 2
    assert not set(venue.cancels) & {o.client_id for o in legs}

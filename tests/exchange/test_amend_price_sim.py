"""A moved stop on the ccxt venue against the simulator: Binance's keep-priority
amend changes quantities only, so an amend that names a price is refused here, before anything
is sent, and changes nothing (the engine then cancels and places the pair again, its position
monitor holding the new stop meanwhile: tests/trading/test_stop_moves.py)."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest

from rampart.domain.errors import VenueError

from .helpers import rig
from .test_amend_sim import AMEND, _held_pair, _on_sim
from .test_venue_sim import HELD

D = Decimal


def test_an_amend_naming_a_price_is_refused_and_sends_nothing() -> None:
    async def go() -> None:
        async with rig() as r:
            stop, take = await _held_pair(r)
            before = _on_sim(r)
            sent = r.sim.context.requests.get(AMEND, 0)
            # A lower quantity with it: one the venue would amend, were no price named.
            with pytest.raises(VenueError, match="cannot change a resting pair's prices"):
                await r.venue.amend_oco("a1", stop, take, D("0.006"), stop_price=D(60_000))
            with pytest.raises(VenueError, match="cannot change a resting pair's prices"):
                await r.venue.amend_oco("a1", stop, take, D(HELD), take_price=D(80_000))
            assert r.sim.context.requests.get(AMEND, 0) == sent
            assert _on_sim(r) == before
            assert [t.qty for t in r.venue.tracked("a1")] == [D(HELD), D(HELD)]

    asyncio.run(go())

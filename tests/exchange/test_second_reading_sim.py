"""The market-data guard's second reading on the real ccxt client against the simulator:
the exchange's ticker, else its order book, else its last trade; when every source
fails the reading fails, saying how each did (the held candle then stays held)."""

from __future__ import annotations

import asyncio

import pytest

from rampart.domain.errors import VenueError
from rampart.wiring.quarantine import second_reading_of

from .helpers import SYMBOL, rig

TICKER = "/api/v3/ticker"
DEPTH = "/api/v3/depth"


def test_the_ticker_is_the_reading_when_it_answers() -> None:
    async def go() -> None:
        async with rig() as r:
            read = second_reading_of(r.venue)
            assert read is not None
            assert await read(SYMBOL) == pytest.approx(float(r.price()))

    asyncio.run(go())


def test_a_failing_ticker_falls_back_to_the_order_book() -> None:
    async def go() -> None:
        async with rig() as r:
            fault = r.sim.faults.add("error", status=500, paths=[TICKER])
            read = second_reading_of(r.venue)
            assert read is not None
            assert await read(SYMBOL) == pytest.approx(float(r.price()), rel=1e-3)
            assert fault.fired >= 1

    asyncio.run(go())


def test_no_source_answering_fails_in_words() -> None:
    async def go() -> None:
        async with rig() as r:
            r.sim.faults.add("error", status=500, paths=[TICKER, DEPTH])
            read = second_reading_of(r.venue, 0.5)
            assert read is not None
            with pytest.raises(VenueError) as failed:
                await read(SYMBOL)
        said = failed.value.message
        assert (
            said.startswith("the ticker ") and "the order book " in said and "the trades " in said
        )

    asyncio.run(go())

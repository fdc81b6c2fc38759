"""Second readings of a held price: where one exists only a reading that succeeded
confirms a held candle, alike prints never confirm each other (the reference price never flips
to a ×1000 print and back), a failed reading leaves the candle held and says why, and a reading
is asked beside the feed with a deadline."""

from __future__ import annotations

import asyncio

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.market.test_price_guard import SYM, bar, warmed

from rampart.domain.errors import VenueError
from rampart.market.second_reading import SecondOpinions, admit_checked


async def _fails(symbol: str) -> float | None:
    raise VenueError("the ticker failed, the order book failed, the trades failed")


async def _nothing(symbol: str) -> float | None:
    return None


def test_alike_prints_never_confirm_each_other_while_the_reading_fails() -> None:
    async def go() -> tuple[list[object], int, str]:
        guard, close = warmed()
        out: list[object] = []
        for i in (60, 61, 62):  # three ×0.001 prints in a row, the ticker down
            out.extend(await admit_checked(guard, _fails, bar(i, close * 0.001)))
        return out, guard.held(SYM), guard.why_held(SYM)

    counted, held, why = asyncio.run(go())
    assert counted == [] and held == 3
    assert why.startswith("no independent price: the ticker failed")


def test_a_reading_that_gives_no_price_confirms_nothing() -> None:
    async def go() -> tuple[tuple[object, ...], str]:
        guard, close = warmed()
        await admit_checked(guard, _nothing, bar(60, close * 1000))
        return await admit_checked(guard, _nothing, bar(61, close * 1000)), guard.why_held(SYM)

    counted, why = asyncio.run(go())
    assert counted == () and "gave none" in why


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(st.booleans(), min_size=2, max_size=40))
def test_the_reference_price_never_flips_to_a_print(spoiled: list[bool]) -> None:
    """×1000 prints among good candles, the second reading failing: the issue's guard flipped
    its reference between 41.7k and 41.7M six times; no counted close may be a print."""

    async def go() -> list[float]:
        guard, close = warmed()
        counted: list[float] = []
        for k, bad in enumerate(spoiled):
            candle = bar(60 + k, close * (1000 if bad else 1.0))
            counted.extend(c.close for c in await admit_checked(guard, _fails, candle))
        return counted

    closes = asyncio.run(go())
    assert all(c < 200 for c in closes), closes


def test_a_hanging_reading_has_a_deadline_and_the_candle_stays_held() -> None:
    async def go() -> tuple[tuple[object, ...], int, str, int]:
        guard, close = warmed()
        never = asyncio.Event()

        async def hangs(symbol: str) -> float | None:
            await never.wait()
            return None

        opinions = SecondOpinions(guard, hangs, deadline_s=0.05)
        assert guard.admit(bar(60, close * 0.001)) == ()
        opinions.ask(SYM)
        opinions.ask(SYM)  # one reading at most in flight per symbol
        asked = opinions.pending
        await opinions.ready.wait()  # woken by the deadline, not by the reading
        return opinions.settle(), guard.held(SYM), guard.why_held(SYM), asked

    released, held, why, asked = asyncio.run(go())
    assert released == () and held == 1 and asked == 1
    assert why == "no independent price within 0.05 s"


def test_a_reading_that_comes_back_releases_in_order() -> None:
    async def go() -> tuple[list[float], int]:
        guard, close = warmed()
        opinions = SecondOpinions(guard, _crash_price(close))
        assert guard.admit(bar(60, close * 0.7)) == ()
        opinions.ask(SYM)
        assert guard.admit(bar(61, close * 0.69)) == ()  # not confirmed by the candle
        await opinions.ready.wait()
        return [c.close for c in opinions.settle()], guard.held(SYM)

    closes, held = asyncio.run(go())
    assert closes == [close_of(0.7), close_of(0.69)] and held == 0


def _crash_price(close: float):  # type: ignore[no-untyped-def]
    async def read(symbol: str) -> float | None:
        return close * 0.69

    return read


def close_of(factor: float) -> float:
    return warmed()[1] * factor

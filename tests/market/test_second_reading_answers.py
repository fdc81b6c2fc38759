"""Second readings' answers in detail (the ``market`` mutation area): what a reading settles at
the band's edges (``PriceGuard.second_reading``), what the stepped path asks and when
(``admit_checked``), what a failure says (``failed``) and logs, and the readings asked beside
the feed (``SecondOpinions``: one in flight per symbol, asked again once answered, cancelled
with the session)."""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import structlog
from tests.market.test_price_guard import SYM, bar, warmed

from rampart.domain.errors import VenueError
from rampart.market.second_reading import DEADLINE_S, SecondOpinions, admit_checked, failed

DEFAULT_WHY = "waiting for the exchange's own price"
NEITHER = "the exchange's own price agrees with neither held nor last good"


@contextmanager
def _warnings() -> Iterator[list[dict[str, Any]]]:
    """The warnings logged inside, whatever level an earlier test left structlog filtering at."""
    previous = structlog.get_config()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.DEBUG))
    try:
        with structlog.testing.capture_logs() as logs:
            yield logs
    finally:
        structlog.configure(**previous)


def test_failures_in_words() -> None:
    assert failed(TimeoutError(), 2.5) == "no independent price within 2.5 s"
    assert failed(TimeoutError("ignored"), 10.0) == "no independent price within 10 s"
    assert failed(VenueError("  the ticker failed.  "), 3) == (
        "no independent price: the ticker failed"
    )
    assert failed(RuntimeError("error XX."), 3) == "no independent price: error XX"
    assert failed(RuntimeError(" . "), 3) == "no independent price"
    assert failed(RuntimeError(), 3) == "no independent price"


def test_a_reading_settles_nothing_it_cannot_read() -> None:
    guard, close = warmed()
    guard.checked = True
    assert guard.second_reading(SYM, close) == ()  # nothing held: nothing to reject
    assert guard.second_reading("XRP/USDT", 1.0) == ()
    assert guard.admit(bar(60, close * 0.5)) == ()
    for bad in (0.0, -close, math.nan, math.inf):
        assert guard.second_reading(SYM, bad) == ()
    assert guard.held(SYM) == 1 and guard.why_held(SYM) == DEFAULT_WHY
    assert [q.outcome for q in guard.listed] == ["held"]


@pytest.mark.parametrize("side", ["low", "high"])
def test_a_reading_on_the_last_good_band_edge_rejects(side: str) -> None:
    guard, close = warmed()
    state = guard._symbols[SYM]
    assert guard.admit(bar(60, close * 0.25)) == ()
    assert guard.second_reading(SYM, close * getattr(state, side)) == ()
    assert guard.held(SYM) == 0 and guard.listed[-1].outcome == "rejected"
    assert state.ref == close


@pytest.mark.parametrize("side", ["low", "high"])
def test_a_reading_on_the_held_band_edge_confirms(side: str) -> None:
    guard, close = warmed()
    state = guard._symbols[SYM]
    crash = bar(60, close * 0.25)
    assert guard.admit(crash) == ()
    assert guard.second_reading(SYM, crash.close * getattr(state, side)) == (crash,)
    assert guard.held(SYM) == 0 and guard.suspect == set()
    assert [q.outcome for q in guard.listed] == ["held", "confirmed"]
    assert state.ref == crash.close and state.ref_ts == crash.ts


def test_a_reading_below_one_settles_a_cheap_symbol() -> None:
    guard, _ = warmed()
    for i in range(3):
        assert guard.admit(bar(i, 0.5, symbol="PEPE/USDT")) != ()
    crash = bar(3, 0.1, symbol="PEPE/USDT")  # a fifth in one candle: outside the cold band
    assert guard.admit(crash) == ()
    assert guard.second_reading("PEPE/USDT", 0.1) == (crash,)


def test_a_reading_agreeing_with_neither_keeps_all_held_and_says_so() -> None:
    guard, close = warmed()
    guard.checked = True
    crash, alike = bar(60, close * 0.25), bar(61, close * 0.25)
    assert guard.admit(crash) == () and guard.admit(alike) == ()
    assert guard.second_reading(SYM, close * 10) == ()
    assert guard.held(SYM) == 2 and guard.why_held(SYM) == NEITHER
    # A later reading agreeing with them releases both, the waiting one listed nowhere.
    assert guard.second_reading(SYM, close * 0.25) == (crash, alike)
    assert [q.outcome for q in guard.listed] == ["held", "confirmed"]
    assert guard._symbols[SYM].ref == alike.close and guard.why_held(SYM) == ""


def test_the_stepped_path_asks_only_for_a_held_candle() -> None:
    asked: list[str] = []

    async def go() -> tuple[object, ...]:
        guard, close = warmed()

        async def read(symbol: str) -> float | None:
            asked.append(symbol)
            return close * 0.5

        calm = bar(60, close * 1.0005)
        assert await admit_checked(guard, read, calm) == (calm,)
        assert guard.checked and asked == []
        duplicate = bar(60, close)
        assert await admit_checked(guard, read, duplicate) == () and asked == []
        crash = bar(61, close * 0.5)
        assert await admit_checked(guard, read, crash) == (crash,)  # confirmed at once
        assert asked == [SYM] and guard.held(SYM) == 0
        return await admit_checked(guard, read, bar(62, close * 0.5 * 1.001))

    assert len(asyncio.run(go())) == 1 and asked == [SYM]


def test_the_stepped_path_judges_a_live_candle_by_its_clock() -> None:
    async def read(symbol: str) -> float | None:
        raise AssertionError("a dropped candle asks for no reading")

    async def go() -> tuple[tuple[object, ...], str]:
        guard, close = warmed()
        stale = bar(60, close)
        out = await admit_checked(guard, read, stale, now_ms=stale.ts + 3 * 86_400_000)
        return out, guard.listed[-1].reason

    assert asyncio.run(go()) == ((), "it is stale (closed too long ago)")


def test_without_a_second_reading_the_candles_settle_it() -> None:
    async def go() -> tuple[tuple[object, ...], str, tuple[object, ...], bool]:
        guard, close = warmed()
        crash, after = bar(60, close * 0.5), bar(61, close * 0.5)
        held = await admit_checked(guard, None, crash)
        why = guard.why_held(SYM)  # no reading was tried, so none failed
        return held, why, await admit_checked(guard, None, after), guard.checked

    held, why, released, checked = asyncio.run(go())
    assert held == () and why == "no independent price here: the next candle settles it"
    assert len(released) == 2 and not checked


@pytest.mark.parametrize(
    ("error", "why"),
    [
        (TimeoutError(), "no independent price within 2.5 s"),
        (VenueError("the ticker failed."), "no independent price: the ticker failed"),
    ],
)
def test_a_failed_stepped_reading_says_why_and_logs_it(error: Exception, why: str) -> None:
    async def read(symbol: str) -> float | None:
        raise error

    async def go() -> tuple[tuple[object, ...], str, int]:
        guard, close = warmed()
        out = await admit_checked(guard, read, bar(60, close * 0.5), deadline_s=2.5)
        return out, guard.why_held(SYM), guard.held(SYM)

    with _warnings() as logs:
        assert asyncio.run(go()) == ((), why, 1)
    [entry] = [e for e in logs if e["event"] == "second_reading_failed"]
    assert (entry["symbol"], entry["error"], entry["log_level"]) == (SYM, str(error), "warning")


def test_a_stepped_reading_has_its_deadline() -> None:
    async def go() -> tuple[tuple[object, ...], str]:
        guard, close = warmed()
        never = asyncio.Event()

        async def hangs(symbol: str) -> float | None:
            await never.wait()
            return None

        out = await admit_checked(guard, hangs, bar(60, close * 0.5), deadline_s=0.01)
        return out, guard.why_held(SYM)

    # Bounded from outside as well: without its deadline the reading would hang the test.
    answer = asyncio.run(asyncio.wait_for(go(), 5.0))
    assert answer == ((), "no independent price within 0.01 s")


def test_a_stepped_reading_with_no_price_says_so() -> None:
    async def none(symbol: str) -> float | None:
        return None

    async def go() -> tuple[tuple[object, ...], str]:
        guard, close = warmed()
        return await admit_checked(guard, none, bar(60, close * 0.5)), guard.why_held(SYM)

    assert asyncio.run(go()) == ((), "no independent price: the exchange gave none")


def test_readings_beside_the_feed_are_asked_again_once_answered() -> None:
    asked: list[str] = []
    answers: list[float | None] = [None, None]

    async def go() -> list[object]:
        guard, close = warmed()

        async def read(symbol: str) -> float | None:
            asked.append(symbol)
            return answers.pop(0)

        opinions = SecondOpinions(guard, read)
        seen: list[object] = [guard.checked, opinions.deadline_s]
        opinions.ask(SYM)  # nothing held: nothing asked
        seen.append(opinions.pending)
        assert opinions.settle() == () and not opinions.ready.is_set()
        assert guard.admit(bar(60, close * 0.5)) == ()
        opinions.ask(SYM)
        seen.append(opinions.pending)
        await opinions.ready.wait()
        seen.append(opinions.pending)
        assert opinions.settle() == () and not opinions.ready.is_set()
        seen.append(guard.why_held(SYM))
        answers[:] = [close * 0.5]
        opinions.ask(SYM)  # answered: asked again
        await opinions.ready.wait()
        seen.append([c.close for c in opinions.settle()])
        seen.append(guard.held(SYM))
        return seen

    seen = asyncio.run(go())
    assert seen[:4] == [True, DEADLINE_S, 0, 1] and DEADLINE_S == 10.0
    assert seen[4:] == [0, "no independent price: the exchange gave none", [seen[6][0]], 0]
    assert asked == [SYM, SYM]


def test_a_failed_reading_beside_the_feed_says_why_and_logs_it() -> None:
    async def fails(symbol: str) -> float | None:
        raise VenueError("the order book failed")

    async def go() -> tuple[tuple[object, ...], str, int]:
        guard, close = warmed()
        opinions = SecondOpinions(guard, fails, deadline_s=4.0)
        assert guard.admit(bar(60, close * 0.5)) == ()
        opinions.ask(SYM)
        await opinions.ready.wait()
        return opinions.settle(), guard.why_held(SYM), opinions.pending

    with _warnings() as logs:
        assert asyncio.run(go()) == ((), "no independent price: the order book failed", 0)
    [entry] = [e for e in logs if e["event"] == "second_reading_failed"]
    assert (entry["symbol"], entry["error"], entry["log_level"]) == (
        SYM, "no independent price: the order book failed", "warning"
    )  # fmt: skip


def test_cancelled_readings_settle_nothing() -> None:
    async def go() -> tuple[bool, bool, tuple[object, ...], int, int]:
        guard, close = warmed()
        never = asyncio.Event()

        async def hangs(symbol: str) -> float | None:
            await never.wait()
            return close * 0.5

        opinions = SecondOpinions(guard, hangs)
        assert guard.admit(bar(60, close * 0.5)) == ()
        opinions.ask(SYM)
        task = opinions._pending[SYM]
        await asyncio.sleep(0)  # the reading starts
        opinions.cancel()
        # Bounded: a task left running would otherwise be awaited for ever.
        await asyncio.wait([task], timeout=5.0)
        return task.cancelled(), opinions.ready.is_set(), opinions.settle(), opinions.pending, \
            guard.held(SYM)  # fmt: skip

    assert asyncio.run(go()) == (True, False, (), 0, 1)

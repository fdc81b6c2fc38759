"""Time. Business logic reads time only from a Clock; replay, soak and tests use SimClock."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    def now_ms(self) -> int: ...

    def now(self) -> datetime: ...

    async def sleep(self, seconds: float) -> None: ...


def ms_to_datetime(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def datetime_to_ms(value: datetime) -> int:
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return int(value.timestamp() * 1000)


JUMP_TOLERANCE_MS = 2_000
"""How far the host clock may move against the monotonic clock between two readings before it
counts as a step (NTP slews by far less; a suspended host or an operator's ``date -s`` more)."""


class WallClock:
    """Real time, for live and paper-live runs, that never goes backwards.

    Time runs on the monotonic clock from the last reading, and follows the host's wall clock
    only forwards: a host clock stepped back (10 minutes) would otherwise put "now"
    before the last candle's close, so no new candle would count as closed until the clock
    came back. A step either way past ``tolerance_ms`` is reported to ``on_jump`` with its
    signed size in ms (back is negative), once per step; after a step back the clock goes on
    from where it was, and rejoins the host clock when that steps forward again.

    The host and monotonic clocks are read from the ``time`` module at each call, so a test
    can replace both.
    """

    def __init__(
        self,
        on_jump: Callable[[int], None] | None = None,
        tolerance_ms: int = JUMP_TOLERANCE_MS,
    ) -> None:
        self.on_jump = on_jump
        self.tolerance_ms = tolerance_ms
        self.jumps = 0
        self._last = time.time_ns() // 1_000_000
        self._last_mono = time.monotonic_ns() // 1_000_000
        self._offset = 0
        """The host clock minus this clock at the last reading (negative after a step back)."""
        self._lock = threading.Lock()  # read from worker threads too (asyncio.to_thread)

    def now_ms(self) -> int:
        with self._lock:
            wall = time.time_ns() // 1_000_000
            mono = time.monotonic_ns() // 1_000_000
            expected = self._last + (mono - self._last_mono)
            step = (wall - expected) - self._offset
            now = max(expected, wall)
            self._last, self._last_mono, self._offset = now, mono, wall - now
        if abs(step) > self.tolerance_ms:
            self.jumps += 1
            if self.on_jump is not None:
                self.on_jump(step)
        return now

    def now(self) -> datetime:
        return ms_to_datetime(self.now_ms())

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(seconds, 0.0))


class SimClock:
    """Simulated time that only moves when told to; it never goes backwards."""

    def __init__(self, start_ms: int = 0) -> None:
        self._now = start_ms

    def now_ms(self) -> int:
        return self._now

    def now(self) -> datetime:
        return ms_to_datetime(self._now)

    def set(self, ms: int) -> None:
        if ms < self._now:
            raise ValueError(f"simulated time cannot go back from {self._now} to {ms}")
        self._now = ms

    def advance(self, ms: int) -> None:
        self.set(self._now + ms)

    async def sleep(self, seconds: float) -> None:
        # Simulated sleeping moves time forward and yields once so other tasks can run.
        self.advance(int(seconds * 1000))
        await asyncio.sleep(0)


ANCHORS_KEPT = 2048
"""Moments a FeedClock keeps to tell a business time's wall time (older ones thinned)."""


class FeedClock:
    """Business time of a service whose candles are simulated (synthetic or replayed feed).

    ``now`` is the close of the last candle traded (``market``), so reports, scheduler slots,
    gates, GO/NO-GO, uptime and incidents sit on the same axis as the orders. Sleeping waits
    on ``pace`` (the wall clock in a service): a loop polling this clock sees the feed's time
    move at the feed's speed, and never moves it itself.
    """

    def __init__(self, market: SimClock, pace: Clock) -> None:
        self.market = market
        self.pace = pace
        self._anchors: list[tuple[int, int]] = []
        """(business ms, wall ms) seen together, business time rising: for :meth:`wall_of`."""

    def now_ms(self) -> int:
        return self.market.now_ms()

    def now(self) -> datetime:
        return ms_to_datetime(self.market.now_ms())

    async def sleep(self, seconds: float) -> None:
        self._anchor()
        await self.pace.sleep(seconds)

    def _anchor(self) -> tuple[int, int]:
        here = (self.market.now_ms(), self.pace.now_ms())
        if here[0] <= 0:
            return here  # no candle traded yet: business time has not begun
        if not self._anchors or here[0] > self._anchors[-1][0]:
            self._anchors.append(here)
            if len(self._anchors) > ANCHORS_KEPT:
                del self._anchors[1 : len(self._anchors) // 2 : 2]  # thin the older half
        return here

    def wall_of(self, business_ms: int) -> int:
        """The wall time at which the feed's time was (or will be) ``business_ms``, for what
        people read (else a /demo investor sees the replay's 2024-01-01): interpolated
        between the two moments seen around it; before the first or after now, at the pace
        the feed has kept."""
        now_b, now_w = self._anchor()
        anchors = self._anchors
        if not anchors:
            return business_ms  # nothing to tell it by yet
        if business_ms >= now_b:
            # Ahead (a cooldown's end, a hold's): at the pace the feed has kept so far.
            b0, w0 = anchors[0]
            if now_b <= b0:
                return now_w
            return now_w + (business_ms - now_b) * (now_w - w0) // (now_b - b0)
        later = next((i for i, (b, _) in enumerate(anchors) if b >= business_ms), len(anchors))
        if later == 0 or len(anchors) < 2:
            (b1, w1), (b2, w2) = anchors[0], (now_b, now_w)
        else:
            (b1, w1), (b2, w2) = anchors[later - 1], anchors[min(later, len(anchors) - 1)]
        if b2 <= b1:
            return w1
        return w1 + (business_ms - b1) * (w2 - w1) // (b2 - b1)


_PEOPLE_AXIS: list[Callable[[int], int]] = []
"""How a business time is shown to people: empty, as it is (an exchange feed, where business
time is wall time); on a simulated feed, the wall time it happened at (``FeedClock.wall_of``).
Module state because every sentence built for people (a breaker's "resumes by itself at", a
bot line, an investor's days) reads it, down to the risk layer, which must not know the feed."""


def show_times_of(clock: object) -> None:
    """Show times on ``clock``'s wall axis when it has one (a simulated feed's FeedClock),
    else as they are: on the replay's axis a /demo investor reads 2024-01-01 for a trade made a
    minute ago, and "resumes by itself at 2024-01-02" for a cooldown ending in minutes."""
    wall_of = getattr(clock, "wall_of", None)
    _PEOPLE_AXIS[:] = [wall_of] if callable(wall_of) else []


def shown_ms(business_ms: int) -> int:
    """``business_ms`` on the axis people read (see :func:`show_times_of`)."""
    return _PEOPLE_AXIS[0](business_ms) if _PEOPLE_AXIS else business_ms

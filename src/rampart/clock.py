"""Time. Business logic reads time only from a Clock; replay, soak and tests use SimClock."""

from __future__ import annotations

import asyncio
import time
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


class WallClock:
    """Real time, for live and paper-live runs."""

    def now_ms(self) -> int:
        return time.time_ns() // 1_000_000

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

    def now_ms(self) -> int:
        return self.market.now_ms()

    def now(self) -> datetime:
        return ms_to_datetime(self.market.now_ms())

    async def sleep(self, seconds: float) -> None:
        await self.pace.sleep(seconds)

"""A wall clock for a service's ops side in tests: it reads as a chosen date and runs
``faster`` times faster than real time, sleeping for real (scaled), so poll loops wait instead
of spinning (a SimClock as the ops clock makes every poll loop a busy one that starves the
service's worker threads)."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime


class FastWallClock:
    def __init__(self, start_ms: int, faster: float = 1.0) -> None:
        self.start_ms = start_ms
        self.faster = faster
        self._t0 = time.monotonic()

    def now_ms(self) -> int:
        return self.start_ms + int((time.monotonic() - self._t0) * self.faster * 1000)

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.now_ms() / 1000, tz=UTC)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(seconds, 0.0) / self.faster)

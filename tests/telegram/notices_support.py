"""The bot service of :mod:`tests.telegram.conftest` with investor notices wired as the service
wires them (:func:`rampart.wiring.notices.investor_outbox`), paced by a clock the test drives.

:class:`DrivenClock` is simulated time whose ``sleep`` waits until the test moves the time on,
so a per-chat gap or a 429's ``retry_after`` is observable (nothing is sent before the test
advances past it) and costs no wall time.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from rampart.clock import SimClock
from rampart.runtime.outbox import Outbox
from rampart.wiring.notices import investor_outbox
from tests.telegram.conftest import TgService

PACE_START_MS = 1_700_000_000_000


class DrivenClock(SimClock):
    def __init__(self, start_ms: int = PACE_START_MS) -> None:
        super().__init__(start_ms)
        self._moved = asyncio.Event()

    def set(self, ms: int) -> None:
        super().set(ms)
        self._moved.set()

    async def sleep(self, seconds: float) -> None:
        target = self.now_ms() + int(seconds * 1000)
        while self.now_ms() < target:
            self._moved.clear()
            await self._moved.wait()
        await asyncio.sleep(0)


class NoticeService(TgService):
    def __init__(self, tmp_path: Path, **kw: Any) -> None:
        super().__init__(tmp_path, **kw)
        self.pace = DrivenClock()
        self.outbox_stop = asyncio.Event()

    async def __aenter__(self) -> NoticeService:
        await super().__aenter__()
        self.api.stamp = lambda: self.pace.now_ms() / 1000
        self.outbox: Outbox = investor_outbox(self.session, self.bot, self.pace)
        self.outbox_task = asyncio.create_task(
            self.outbox.run(self.outbox_stop, lambda: None, 0.05)
        )
        return self

    async def stop_outbox(self) -> None:
        self.outbox_stop.set()
        await asyncio.wait_for(self.outbox_task, timeout=30)

    async def __aexit__(self, *exc: object) -> None:
        if not self.outbox_task.done():
            await self.stop_outbox()
        await super().__aexit__(*exc)

    def notices(self, uid: int, marker: str) -> list[str]:
        return [t for t in self.api.texts(uid) if marker in t]

    async def delivered(self, uid: int, marker: str, n: int = 1, step_ms: int = 250) -> list[str]:
        """Move the pace on in small steps until ``n`` notices containing ``marker`` reached
        ``uid``; fail after a bounded number of steps."""
        for _ in range(400):
            found = self.notices(uid, marker)
            if len(found) >= n:
                return found
            self.pace.advance(step_ms)
            await asyncio.sleep(0.005)
        raise AssertionError(f"no {marker!r} notice reached {uid}: {self.api.texts(uid)[-5:]}")

    async def drain(self) -> None:
        """Move the pace on until the outbox holds nothing unsent."""
        for _ in range(2000):
            await asyncio.sleep(0.005)
            if self.outbox.idle():
                return
            self.pace.advance(250)
        raise AssertionError(f"the outbox still holds {self.outbox.pending()} notices")

"""The bot service of :mod:`tests.telegram.conftest` with investor notices wired as the service
wires them (:func:`rampart.wiring.notices.investor_outbox`), paced by a clock the test drives
(:class:`~tests.telegram.conftest.DrivenClock`): the bot's limiter and the outbox on the same one,
as in the service.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from rampart.notices.outbox import Outbox
from rampart.wiring.notices import investor_outbox
from tests.telegram.conftest import DrivenClock, TgService

PACE_START_MS = 1_700_000_000_000


class NoticeService(TgService):
    def __init__(self, tmp_path: Path, **kw: Any) -> None:
        super().__init__(tmp_path, pace=DrivenClock(), **kw)
        self.outbox_stop = asyncio.Event()

    async def __aenter__(self) -> NoticeService:
        await super().__aenter__()
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

    async def settled(self) -> None:
        """Let the outbox do everything it can without the pace moving on: afterwards, what
        has not reached a chat is held back by time (a gap, a flood wait), not in flight."""
        for _ in range(20_000):  # a bound on polls, not a time: saves run in a thread
            if self.outbox.settled():
                return
            await asyncio.sleep(0.001)
        raise AssertionError(f"the outbox never settled: {self.outbox.pending()} notices")

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

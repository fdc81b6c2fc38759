"""Notification preferences and the outbox on both backends (the upserts and the outbox's
insert differ by dialect)."""

from __future__ import annotations

import asyncio

from rampart.clock import SimClock
from rampart.notices.investor_notices import InvestorNotice
from rampart.notices.notify_prefs import NotifyPrefs
from rampart.notices.outbox import Outbox
from rampart.store.db import open_database


class Recorder:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []

    async def deliver(self, account_id: str, html: str) -> bool:
        self.sent.append((account_id, html))
        return True


def test_prefs_and_outbox_round_trip(db_url: str) -> None:
    async def scenario() -> None:
        db = open_database(db_url)
        try:
            prefs = NotifyPrefs(db).load()
            await prefs.set("a1", ["exits", "kill"], False, 1)
            await prefs.set("a1", ["kill"], True, 2)  # an upsert over the row just written
            again = NotifyPrefs(db).load()
            assert not again.enabled("a1", "exits") and again.enabled("a1", "kill")
            assert again.enabled("a2", "exits")

            clock = SimClock(1_000)
            outbox = Outbox(db, clock, lambda: None, again)
            for key in ("k1", "k2", "k1"):  # the same key twice is queued once
                outbox.put(InvestorNotice(key, "a2", "kill", f"text {key}", 0))
            outbox.put(InvestorNotice("k3", "a1", "exits", "muted", 0))
            assert await outbox.save() == 2
            fresh = Outbox(db, clock, lambda: None, again)
            assert await fresh.resume() == 2
            recorder = Recorder()
            sender = Outbox(db, clock, lambda: recorder, again)
            stop = asyncio.Event()
            task = asyncio.create_task(sender.run(stop, lambda: None, 0.01))
            for _ in range(200):
                if len(recorder.sent) == 2:
                    break
                await asyncio.sleep(0.01)
            stop.set()
            await task
            assert recorder.sent == [("a2", "text k1"), ("a2", "text k2")]
            assert await Outbox(db, clock, lambda: None, again).resume() == 0
        finally:
            db.dispose()

    asyncio.run(scenario())

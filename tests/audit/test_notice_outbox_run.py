"""The notice outbox's run loop, restarts and operator messages, continued from
test_notice_outbox.py."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest
import sqlalchemy as sa

from rampart.clock import SimClock
from rampart.domain.errors import StoreError
from rampart.notices.investor_notices import InvestorNotice
from rampart.notices.notify_prefs import NotifyPrefs
from rampart.notices.outbox import KEEP_SENT_MS, PRUNE_EVERY_MS, Outbox, OutboxMessenger
from rampart.runtime.messaging import Messenger, SendLater
from rampart.store.db import open_database
from tests.audit.notice_outbox_support import (
    HALF_HOUR,
    T0,
    Telegram,
    _box,
    _every_log_line,
    _notice,
    _rows,
    _run,
    _send_due,
)


async def _until(check: Callable[[], bool]) -> None:
    """Poll until ``check()`` holds (the run's sends finish on threads); fail after 10 s."""
    give_up = time.monotonic() + 10
    while not check():
        if time.monotonic() > give_up:
            raise AssertionError("never happened")
        await asyncio.sleep(0.001)


def _sent_at(db: sa.Engine, key: str) -> int | None:
    row = _rows(db).get(key)
    return None if row is None else row[4]


def test_run_resumes_sends_prunes_every_hour_and_saves_what_was_put_at_the_stop(
    db: sa.Engine,
) -> None:
    async def scenario() -> None:
        clock = SimClock(T0)
        telegram = Telegram(clock)
        seed = _box(db, clock, telegram)
        seed.put(_notice("sent-long-ago"))
        await seed.save()
        await _send_due(seed)  # sent at T0
        clock.advance(HALF_HOUR)
        seed.put(_notice("sent-later"))
        await seed.save()
        await _send_due(seed)  # sent half an hour later
        seed.put(_notice("left", "b"))
        await seed.save()
        clock.set(T0 + KEEP_SENT_MS + 1)

        outbox = _box(db, clock, telegram)
        stop = asyncio.Event()
        beats: list[int] = []
        task = asyncio.create_task(outbox.run(stop, lambda: beats.append(1), 0.001))
        await _until(lambda: _sent_at(db, "left") is not None)
        # Pruned as the run started: only what was sent over a day ago.
        assert "sent-long-ago" not in _rows(db) and "sent-later" in _rows(db)
        assert beats

        # An hour after that prune "sent-later" is over a day old, but the next prune is due
        # only past the hour.
        clock.advance(PRUNE_EVERY_MS)
        outbox.put(_notice("n1", "c"))
        await _until(lambda: _sent_at(db, "n1") is not None)
        assert "sent-later" in _rows(db)
        clock.advance(1)
        outbox.put(_notice("n2", "c"))
        await _until(lambda: _sent_at(db, "n2") is not None)
        assert "sent-later" not in _rows(db) and {"left", "n1", "n2"} <= set(_rows(db))

        # Put while stopping: written, not sent, so the next start sends it.
        outbox.put(_notice("late", "d"))
        stop.set()
        await asyncio.wait_for(task, timeout=10)
        assert "late" in _rows(db) and _sent_at(db, "late") is None
        assert await _box(db, clock, telegram).resume() == 1
        assert [chat for chat, _ in telegram.accepted] == ["a1", "a1", "b", "c", "c"]

    _run(scenario)


def test_run_sleeps_on_the_clock_until_the_first_chat_is_due(db: sa.Engine) -> None:
    async def scenario() -> None:
        clock = SimClock(T0)
        telegram = Telegram(clock)
        telegram.script["a"] = [SendLater(30)]
        telegram.script["b"] = [SendLater(0.25)]
        outbox = _box(db, clock, telegram)
        outbox.put(_notice("a-1", "a"))
        outbox.put(_notice("b-1", "b"))
        stop = asyncio.Event()
        # A heartbeat of a minute of real time: only sleeping on the (simulated) clock gets
        # these sent within _until's 10 s.
        task = asyncio.create_task(outbox.run(stop, lambda: None, 60.0))
        await _until(lambda: _sent_at(db, "a-1") is not None)
        assert [(chat, at - T0) for chat, _, at in telegram.tries] == [
            ("a", 0),
            ("b", 0),
            ("b", 250),
            ("a", 30_000),
        ]
        stop.set()
        await asyncio.wait_for(task, timeout=10)

    _run(scenario)


def test_a_clock_still_at_zero_sends_at_once(db: sa.Engine) -> None:
    # A service before its first candle: its simulated clock reads 0.
    async def scenario() -> None:
        clock = SimClock(0)
        telegram = Telegram(clock)
        outbox = _box(db, clock, telegram, parallel=1)
        outbox.put(_notice("a-1", "a"))
        outbox.put(_notice("b-1", "b"))
        stop = asyncio.Event()
        task = asyncio.create_task(outbox.run(stop, lambda: None, 60.0))
        await _until(lambda: _sent_at(db, "b-1") is not None)
        assert [(chat, at) for chat, _, at in telegram.tries] == [("a", 0), ("b", 0)]
        stop.set()
        await asyncio.wait_for(task, timeout=10)

    _run(scenario)


def test_an_idle_run_keeps_beating(db: sa.Engine) -> None:
    async def scenario() -> None:
        outbox = _box(db, SimClock(T0), None)
        stop = asyncio.Event()
        beats: list[int] = []
        task = asyncio.create_task(outbox.run(stop, lambda: beats.append(1), 0.001))
        await _until(lambda: len(beats) >= 3)  # nothing to do: the heartbeat alone wakes it
        stop.set()
        await asyncio.wait_for(task, timeout=10)

    _run(scenario)


def test_a_replay_after_its_row_was_pruned_is_sent_again(db: sa.Engine) -> None:
    async def scenario() -> None:
        clock = SimClock(T0)
        telegram = Telegram(clock)
        outbox = _box(db, clock, telegram)
        outbox.put(_notice("k1"))
        await outbox.save()
        await _send_due(outbox)
        outbox.put(_notice("k1"))  # within the day: recognised
        assert await outbox.save() == 0
        clock.advance(KEEP_SENT_MS + 1)
        assert await outbox.resume() == 0  # prunes the sent row
        outbox.put(_notice("k1"))  # a day on: a new notice
        assert await outbox.save() == 1
        assert await _send_due(outbox) == 1
        assert telegram.accepted == [("a1", "text k1"), ("a1", "text k1")]

    _run(scenario)


def test_run_keeps_notices_while_the_database_is_down(tmp_path: Path) -> None:
    async def scenario() -> None:
        db = open_database(f"sqlite:///{tmp_path / 'notices.db'}")
        clock = SimClock(T0)
        telegram = Telegram(clock)
        outbox = _box(db, clock, telegram)
        stop = asyncio.Event()
        beats: list[int] = []
        try:
            task = asyncio.create_task(outbox.run(stop, lambda: beats.append(1), 5.0))
            await _until(lambda: bool(beats))
            with db.begin() as conn:
                conn.execute(sa.text("ALTER TABLE notify_outbox RENAME TO away"))
            with _every_log_line() as logs:
                outbox.put(_notice("k1"))
                await _until(lambda: any(e["event"] == "notices_not_saved" for e in logs))
            assert outbox.unsaved() == 1
            assert {
                "event": "notices_not_saved",
                "error": "StoreError",
                "log_level": "warning",
            } in logs
            with db.begin() as conn:
                conn.execute(sa.text("ALTER TABLE away RENAME TO notify_outbox"))
            outbox.put(_notice("k2"))
            await _until(lambda: len(telegram.accepted) == 2)
            assert [text for _, text in telegram.accepted] == ["text k1", "text k2"]

            # Stopped while the database is down again: the run ends quietly, and what could
            # not be saved is still in hand.
            with db.begin() as conn:
                conn.execute(sa.text("ALTER TABLE notify_outbox RENAME TO away"))
            outbox.put(_notice("k3"))
            stop.set()
            await asyncio.wait_for(task, timeout=10)
            assert outbox.unsaved() == 1
        finally:
            db.dispose()

    _run(scenario)


# -- the Messenger port for rollout -------------------------------------------------------------


class Operators:
    def __init__(self) -> None:
        self.told: list[tuple[str, tuple[Path, ...]]] = []

    async def tell_account(self, account_id: str, html: str) -> bool:
        raise AssertionError("an investor's message goes through the outbox")

    async def tell_operators(self, html: str, attachments: Sequence[Path] = ()) -> bool:
        self.told.append((html, tuple(attachments)))
        return True


class Recording(Outbox):
    """An outbox that also keeps every notice put into it."""

    def __init__(self, db: sa.Engine, clock: SimClock, telegram: Telegram) -> None:
        super().__init__(db, clock, lambda: telegram, NotifyPrefs(db).load())
        self.put_notices: list[InvestorNotice] = []

    def put(self, notice: InvestorNotice) -> None:
        self.put_notices.append(notice)
        super().put(notice)


def test_a_stage_message_is_a_stage_notice_told_once_per_text_and_instant(
    db: sa.Engine,
) -> None:
    async def scenario() -> None:
        clock = SimClock(T0)
        telegram = Telegram(clock)
        outbox = Recording(db, clock, telegram)
        told = OutboxMessenger(outbox, lambda: None)
        assert await told.tell_account("a1", "Rollout went back to paper") is True
        assert await told.tell_account("a1", "Rollout went back to paper") is True  # a retry
        assert await told.tell_account("a1", "Your capital is capped at 500 USDT") is True
        clock.advance(86_400_000)
        assert await told.tell_account("a1", "Rollout went back to paper") is True  # again, later
        first = outbox.put_notices[0]
        assert (first.account_id, first.kind, first.text, first.ts) == (
            "a1",
            "stage",
            "Rollout went back to paper",
            T0,
        )
        assert outbox.put_notices[-1].ts == T0 + 86_400_000
        assert len({n.key for n in outbox.put_notices}) == 3
        await outbox.save()
        while await _send_due(outbox):
            pass
        assert telegram.accepted == [
            ("a1", "Rollout went back to paper"),
            ("a1", "Your capital is capped at 500 USDT"),
            ("a1", "Rollout went back to paper"),
        ]

    _run(scenario)


def test_operator_messages_go_straight_on_or_report_that_nobody_heard(db: sa.Engine) -> None:
    async def scenario() -> None:
        clock = SimClock(T0)
        outbox = _box(db, clock, None)
        operators = Operators()
        inner: list[Messenger] = []
        told = OutboxMessenger(outbox, lambda: inner[0] if inner else None)
        assert await told.tell_operators("<b>gate failed</b>") is False  # no bot yet
        inner.append(operators)
        chart = Path("report.png")
        assert await told.tell_operators("<b>weekly report</b>", [chart]) is True
        assert await told.tell_operators("<b>plain</b>") is True
        assert operators.told == [("<b>weekly report</b>", (chart,)), ("<b>plain</b>", ())]
        assert outbox.idle()  # nothing for an investor

    _run(scenario)


def test_a_notice_resumed_after_its_kind_was_turned_off_is_dropped(db: sa.Engine) -> None:
    async def scenario() -> None:
        clock = SimClock(T0)
        telegram = Telegram(clock)
        first = _box(db, clock, telegram)
        first.put(_notice("k1", kind="pause"))
        first.put(_notice("k2", kind="kill"))
        await first.save()  # the service stops before sending them
        await NotifyPrefs(db).load().set("a1", ["pause"], False, T0)  # /notify off pause

        again = _box(db, clock, telegram)
        assert await again.resume() == 2
        while await _send_due(again):
            pass
        assert telegram.accepted == [("a1", "text k2")]
        assert (again.stats.sent, again.stats.dropped) == (1, 1)

    _run(scenario)


def test_a_restart_on_a_broken_table_says_what_failed(tmp_path: Path) -> None:
    async def scenario() -> None:
        db = open_database(f"sqlite:///{tmp_path / 'notices.db'}")
        outbox = _box(db, SimClock(T0), None)
        try:
            with db.begin() as conn:
                conn.execute(sa.text("ALTER TABLE notify_outbox RENAME COLUMN text TO body"))
            with pytest.raises(StoreError) as err:
                await outbox.resume()
            assert err.value.message.startswith("Reading notifications failed: ")
            with db.begin() as conn:
                conn.execute(sa.text("ALTER TABLE notify_outbox RENAME COLUMN sent_at TO gone"))
            with pytest.raises(StoreError) as err:
                await outbox.resume()
            assert err.value.message.startswith("Pruning sent notifications failed: ")
        finally:
            db.dispose()

    _run(scenario)


class Hanging(Telegram):
    """Telegram that never answers one chat's send until released."""

    def __init__(self, clock: SimClock, chat: str) -> None:
        super().__init__(clock)
        self.chat = chat
        self.release = asyncio.Event()

    async def deliver(self, account_id: str, html: str) -> bool:
        if account_id == self.chat:
            await self.release.wait()
        return await super().deliver(account_id, html)


def test_a_send_that_hangs_holds_up_only_its_own_chat(db: sa.Engine) -> None:
    async def scenario() -> None:
        clock = SimClock(T0)
        telegram = Hanging(clock, "slow")
        telegram.script["b"] = [SendLater(10)]
        outbox = _box(db, clock, telegram)
        outbox.put(_notice("slow-1", "slow"))
        outbox.put(_notice("b-1", "b"))
        stop = asyncio.Event()
        task = asyncio.create_task(outbox.run(stop, lambda: None, 60.0))
        # b's flood wait passes on the clock while the slow chat's send is still out.
        await _until(lambda: _sent_at(db, "b-1") is not None)
        assert [(chat, at - T0) for chat, _, at in telegram.tries] == [("b", 0), ("b", 10_000)]
        # Stopped with that send still out: the run waits for it to end before it returns.
        stop.set()
        for _ in range(5):
            await asyncio.sleep(0)
        assert not task.done()
        telegram.release.set()
        await asyncio.wait_for(task, timeout=10)
        assert _sent_at(db, "slow-1") is not None

    _run(scenario)

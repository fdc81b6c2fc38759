"""The investors' notice outbox sending, on a SimClock (continued from test_notice_outbox.py):
one send in flight per chat and at most the parallel limit, nothing once stopped, a 429's wait
held by its chat alone, failed sends backing off to a minute, and a notice waiting for a bot."""

from __future__ import annotations

import asyncio

import sqlalchemy as sa

from rampart.clock import SimClock
from rampart.notices.notify_prefs import NotifyPrefs
from rampart.notices.outbox import Outbox
from rampart.runtime.messaging import SendLater
from tests.audit.notice_outbox_support import (
    T0,
    Telegram,
    _box,
    _every_log_line,
    _notice,
    _rows,
    _run,
    _send_due,
)

# -- sending ----------------------------------------------------------------------------------


def test_one_notice_in_flight_per_chat_and_chats_do_not_wait_for_each_other(
    db: sa.Engine,
) -> None:
    async def scenario() -> None:
        clock = SimClock(T0)
        telegram = Telegram(clock)
        outbox = _box(db, clock, telegram)
        for key, account in (("a-1", "a"), ("a-2", "a"), ("b-1", "b"), ("c-1", "c")):
            outbox.put(_notice(key, account))
        await outbox.save()
        assert await _send_due(outbox) == 3  # one per chat
        assert sorted(telegram.accepted) == [
            ("a", "text a-1"),
            ("b", "text b-1"),
            ("c", "text c-1"),
        ]
        assert await _send_due(outbox) == 1
        assert telegram.accepted[-1] == ("a", "text a-2")
        assert outbox.stats.sent == 4 and outbox.idle()

    _run(scenario)


def test_no_more_sends_in_flight_than_the_parallel_limit(db: sa.Engine) -> None:
    async def scenario() -> None:
        clock = SimClock(T0)
        telegram = Telegram(clock)
        outbox = _box(db, clock, telegram, parallel=2)
        for account in ("a", "b", "c"):
            outbox.put(_notice(f"{account}-1", account))
        await outbox.save()
        tasks: set[asyncio.Task[None]] = set()
        await outbox.pump(asyncio.Event(), tasks)
        assert len(tasks) == 2
        assert not outbox.settled()  # sends in flight
        await asyncio.gather(*list(tasks))
        assert tasks == set()  # a finished send leaves the set
        assert await _send_due(outbox) == 1
        assert len(telegram.accepted) == 3

        # Eight at once by default.
        wide = _box(db, clock, telegram)
        for i in range(9):
            wide.put(_notice(f"w-{i}", f"w{i}"))
        await wide.save()
        assert await _send_due(wide) == 8
        assert await _send_due(wide) == 1

    _run(scenario)


def test_nothing_is_started_once_stopped(db: sa.Engine) -> None:
    async def scenario() -> None:
        clock = SimClock(T0)
        telegram = Telegram(clock)
        outbox = _box(db, clock, telegram)
        outbox.put(_notice("k1"))
        await outbox.save()
        stop = asyncio.Event()
        stop.set()
        assert await _send_due(outbox, stop) == 0
        assert telegram.tries == []

    _run(scenario)


def test_a_429_holds_that_chat_for_its_retry_after_only(db: sa.Engine) -> None:
    async def scenario() -> None:
        clock = SimClock(T0)
        telegram = Telegram(clock)
        telegram.script["a"] = [SendLater(2.5), SendLater(1)]
        outbox = _box(db, clock, telegram)
        outbox.put(_notice("a-1", "a"))
        outbox.put(_notice("b-1", "b"))
        await outbox.save()
        with _every_log_line() as logs:
            assert await _send_due(outbox) == 2
        assert telegram.accepted == [("b", "text b-1")]
        assert outbox.stats.throttled == 1 and outbox.stats.failed == 0
        assert {
            "event": "notice_flood_wait",
            "account_id": "a",
            "retry_after_s": 2.5,
            "log_level": "info",
        } in logs
        assert _rows(db)["a-1"][4] is None and outbox.pending() == 1
        assert outbox.settled() and not outbox.idle()  # waiting for time, not for work

        clock.set(T0 + 2_499)
        assert await _send_due(outbox) == 0
        clock.set(T0 + 2_500)
        assert await _send_due(outbox) == 1  # told to wait again, a second this time
        assert outbox.stats.throttled == 2
        clock.set(T0 + 3_500)
        assert await _send_due(outbox) == 1
        assert telegram.accepted[-1] == ("a", "text a-1")
        assert [at for chat, _, at in telegram.tries if chat == "a"] == [
            T0,
            T0 + 2_500,
            T0 + 3_500,
        ]
        assert outbox.idle()

    _run(scenario)


def test_failed_sends_back_off_doubling_to_a_minute_and_a_success_starts_again(
    db: sa.Engine,
) -> None:
    async def scenario() -> None:
        clock = SimClock(T0)
        telegram = Telegram(clock)
        down = [ConnectionError("network") for _ in range(8)]
        telegram.script["a"] = [*down, True, ConnectionError("network"), True]
        outbox = _box(db, clock, telegram)
        outbox.put(_notice("a-1", "a"))
        outbox.put(_notice("a-2", "a"))
        await outbox.save()
        waits = []
        with _every_log_line() as logs:
            for _ in range(11):
                before = len(telegram.tries)
                for _ in range(400):  # the first instant the chat is due again
                    if await _send_due(outbox):
                        break
                    clock.advance(250)
                assert len(telegram.tries) == before + 1
                waits.append(telegram.tries[-1][2] - (telegram.tries[-2][2] if before else T0))
        # 2, 4, 8, 16, 32 s, then the minute's cap; after the success the next is due at once,
        # and a later failure waits 2 s again.
        assert waits == [0, 2000, 4000, 8000, 16000, 32000, 60000, 60000, 60000, 0, 2000]
        assert outbox.stats.failed == 9 and outbox.stats.sent == 2
        assert telegram.accepted == [("a", "text a-1"), ("a", "text a-2")]
        failed = [e for e in logs if e["event"] == "notice_send_failed"]
        assert len(failed) == 9
        assert failed[0] == {
            "event": "notice_send_failed",
            "account_id": "a",
            "error": "ConnectionError",
            "log_level": "warning",
        }

    _run(scenario)


def test_without_a_bot_a_notice_waits_and_is_sent_once_one_is_there(db: sa.Engine) -> None:
    async def scenario() -> None:
        clock = SimClock(T0)
        telegram = Telegram(clock)
        bots: list[Telegram] = []
        outbox = Outbox(db, clock, lambda: bots[0] if bots else None, NotifyPrefs(db).load())
        outbox.put(_notice("k1"))
        await outbox.save()
        assert await _send_due(outbox) == 1
        assert outbox.stats.failed == 1 and outbox.pending() == 1
        assert _rows(db)["k1"][4] is None
        bots.append(telegram)
        clock.advance(2_000)
        assert await _send_due(outbox) == 1
        assert telegram.accepted == [("a1", "text k1")] and outbox.stats.sent == 1

    _run(scenario)

"""The investors' notice outbox driven directly, on a SimClock: what is saved, queued, sent once,
dropped, retried, and when; what survives a restart; what the table keeps.

Found by mutation testing (docs/mutation.md, the `records` area): the outbox was only reached
through the whole Telegram service, whose tests see that notices arrive but not the waits, the
counts, the rows or a failed save.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import structlog

from rampart.clock import SimClock
from rampart.domain.errors import StoreError
from rampart.notices.investor_notices import InvestorNotice
from rampart.notices.notify_prefs import NotifyPrefs
from rampart.notices.outbox import KEEP_SENT_MS, Outbox
from rampart.runtime.messaging import Deliverer, SendLater
from rampart.store.db import open_database
from rampart.store.models import notify as mn

T0 = 1_767_225_600_000
HALF_HOUR = 1_800_000


class Telegram:
    """A deliverer answering from a script per chat: True (accepted), False (never deliverable:
    dropped), or an exception to raise (a :class:`SendLater`, a network error)."""

    def __init__(self, clock: SimClock) -> None:
        self.clock = clock
        self.script: dict[str, list[bool | Exception]] = {}
        self.tries: list[tuple[str, str, int]] = []
        self.accepted: list[tuple[str, str]] = []

    async def deliver(self, account_id: str, html: str) -> bool:
        self.tries.append((account_id, html, self.clock.now_ms()))
        answers = self.script.get(account_id)
        answer = answers.pop(0) if answers else True
        if isinstance(answer, Exception):
            raise answer
        if answer:
            self.accepted.append((account_id, html))
        return answer


@contextmanager
def _every_log_line() -> Iterator[list[dict[str, Any]]]:
    """The lines logged meanwhile, at every level (the tests run with errors only)."""
    before = structlog.get_config()["wrapper_class"]
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.DEBUG))
    try:
        with structlog.testing.capture_logs() as logs:
            yield logs
    finally:
        structlog.configure(wrapper_class=before)


def _notice(
    key: str, account: str = "a1", kind: str = "kill", text: str | None = None
) -> InvestorNotice:
    return InvestorNotice(key, account, kind, text or f"text {key}", T0)


def _rows(db: sa.Engine) -> dict[str, tuple[str, str, str, int, int | None]]:
    t = mn.notify_outbox
    with db.connect() as conn:
        found = conn.execute(
            sa.select(t.c.key, t.c.account_id, t.c.kind, t.c.text, t.c.created_at, t.c.sent_at)
        ).all()
    return {k: (a, kind, text, created, sent) for k, a, kind, text, created, sent in found}


async def _send_due(outbox: Outbox, stop: asyncio.Event | None = None) -> int:
    """Start every send due now and wait for them; how many were started."""
    tasks: set[asyncio.Task[None]] = set()
    await outbox.pump(stop or asyncio.Event(), tasks)
    started = len(tasks)
    if tasks:
        await asyncio.gather(*list(tasks))
    return started


def _box(db: sa.Engine, clock: SimClock, telegram: Deliverer | None, **kw: int) -> Outbox:
    return Outbox(db, clock, lambda: telegram, NotifyPrefs(db).load(), **kw)


def _run(scenario: Callable[[], Coroutine[Any, Any, None]]) -> None:
    asyncio.run(scenario())


# -- putting and saving -----------------------------------------------------------------------


def test_a_notice_is_saved_with_its_fields_then_sent_once_and_marked_at_the_clocks_time(
    db: sa.Engine,
) -> None:
    async def scenario() -> None:
        clock = SimClock(T0)
        telegram = Telegram(clock)
        outbox = _box(db, clock, telegram)
        assert outbox.idle() and outbox.settled() and outbox.pending() == 0
        assert await outbox.save() == 0  # nothing put: nothing written

        outbox.put(_notice("k1", "a1", "exits", "Sold BTC"))
        assert not outbox.idle() and not outbox.settled()
        assert (outbox.unsaved(), outbox.pending()) == (1, 1)
        assert _rows(db) == {}  # put is memory only

        clock.advance(5)
        assert await outbox.save() == 1
        assert (outbox.unsaved(), outbox.pending()) == (0, 1)
        assert _rows(db) == {"k1": ("a1", "exits", "Sold BTC", T0 + 5, None)}
        assert not outbox.idle() and not outbox.settled()  # queued and due now

        clock.advance(7)
        tasks: set[asyncio.Task[None]] = set()
        await outbox.pump(asyncio.Event(), tasks)
        assert len(tasks) == 1
        assert not outbox.settled() and not outbox.idle()  # in flight: work in hand
        await asyncio.gather(*list(tasks))
        assert telegram.accepted == [("a1", "Sold BTC")]
        assert _rows(db)["k1"][4] == T0 + 12
        assert outbox.idle() and outbox.settled() and outbox.pending() == 0
        assert (outbox.stats.sent, outbox.stats.dropped, outbox.stats.failed) == (1, 0, 0)
        assert await _send_due(outbox) == 0  # nothing sent twice

    _run(scenario)


def test_a_key_put_again_before_the_save_is_the_fuller_telling_in_its_first_place(
    db: sa.Engine,
) -> None:
    async def scenario() -> None:
        clock = SimClock(T0)
        telegram = Telegram(clock)
        outbox = _box(db, clock, telegram)
        outbox.put(_notice("k1", text="short"))
        outbox.put(_notice("k2"))
        outbox.put(_notice("k1", text="the fuller telling"))
        assert outbox.unsaved() == 2
        assert await outbox.save() == 2
        for _ in range(2):
            await _send_due(outbox)
        assert telegram.accepted == [("a1", "the fuller telling"), ("a1", "text k2")]

    _run(scenario)


def test_a_key_already_in_the_table_is_not_queued_or_sent_again(db: sa.Engine) -> None:
    async def scenario() -> None:
        clock = SimClock(T0)
        telegram = Telegram(clock)
        first = _box(db, clock, telegram)
        first.put(_notice("k1"))
        assert await first.save() == 1
        await _send_due(first)

        # The same events replayed, to this outbox and to the next one on the same table.
        for outbox in (first, _box(db, clock, telegram)):
            outbox.put(_notice("k1"))
            outbox.put(_notice("k2"))
            assert await outbox.save() == (1 if outbox is first else 0)
            while await _send_due(outbox):
                pass
            assert outbox.pending() == 0
        assert telegram.accepted == [("a1", "text k1"), ("a1", "text k2")]

    _run(scenario)


def test_a_kind_turned_off_is_not_put_and_one_turned_off_while_queued_is_dropped(
    db: sa.Engine,
) -> None:
    async def scenario() -> None:
        clock = SimClock(T0)
        telegram = Telegram(clock)
        prefs = NotifyPrefs(db).load()
        await prefs.set("a1", ["pause"], False, T0)
        outbox = Outbox(db, clock, lambda: telegram, prefs)
        outbox.put(_notice("muted", kind="pause"))
        assert outbox.unsaved() == 0 and outbox.idle()

        outbox.put(_notice("k1", kind="kill"))
        assert await outbox.save() == 1
        await prefs.set("a1", ["kill"], False, T0)  # /notify off kill, while it waits
        await _send_due(outbox)
        assert telegram.tries == []
        assert (outbox.stats.sent, outbox.stats.dropped) == (0, 1)
        assert _rows(db)["k1"][4] == T0  # never to be sent: not resumed after a restart
        assert outbox.idle()

    _run(scenario)


def test_a_notice_telegram_can_never_deliver_is_dropped_and_not_tried_again(
    db: sa.Engine,
) -> None:
    async def scenario() -> None:
        clock = SimClock(T0)
        telegram = Telegram(clock)
        telegram.script["a1"] = [False, False]  # the investor blocked the bot, then unblocked
        outbox = _box(db, clock, telegram)
        for key in ("k1", "k2", "k3"):
            outbox.put(_notice(key))
        await outbox.save()
        while await _send_due(outbox):
            pass
        assert [text for _, text, _ in telegram.tries] == ["text k1", "text k2", "text k3"]
        assert telegram.accepted == [("a1", "text k3")]
        assert (outbox.stats.sent, outbox.stats.dropped, outbox.stats.failed) == (1, 2, 0)
        assert all(row[4] == T0 for row in _rows(db).values())
        assert await _box(db, clock, telegram).resume() == 0

    _run(scenario)


def test_a_failed_save_keeps_the_notices_in_order_and_a_fuller_telling_put_meanwhile(
    tmp_path: Path,
) -> None:
    async def scenario() -> None:
        path = tmp_path / "notices.db"
        db = open_database(f"sqlite:///{path}")
        clock = SimClock(T0)
        telegram = Telegram(clock)
        outbox = _box(db, clock, telegram)
        try:
            outbox.put(_notice("k1", text="first"))
            outbox.put(_notice("k2"))
            with db.begin() as conn:
                conn.execute(sa.text("ALTER TABLE notify_outbox RENAME TO away"))
            with pytest.raises(StoreError) as err:
                await outbox.save()
            assert err.value.message.startswith("Saving notifications failed: ")
            assert outbox.unsaved() == 2 and outbox.pending() == 2

            outbox.put(_notice("k1", text="the fuller telling"))
            outbox.put(_notice("k3"))
            with db.begin() as conn:
                conn.execute(sa.text("ALTER TABLE away RENAME TO notify_outbox"))
            assert await outbox.save() == 3
            while await _send_due(outbox):
                pass
            assert [text for _, text in telegram.accepted] == [
                "the fuller telling",
                "text k2",
                "text k3",
            ]
        finally:
            db.dispose()

    _run(scenario)


def test_a_large_batch_is_checked_against_the_table_in_chunks(db: sa.Engine) -> None:
    async def scenario() -> None:
        clock = SimClock(T0)
        outbox = _box(db, clock, None)
        for i in range(0, 1200, 2):
            outbox.put(_notice(f"k{i:04d}"))
        assert await outbox.save() == 600
        for i in range(1200):  # half of them known, spread over every chunk
            outbox.put(_notice(f"k{i:04d}", account=f"a{i % 3}"))
        assert await outbox.save() == 600
        assert len(_rows(db)) == 1200
        assert outbox.pending() == 1200

    _run(scenario)


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


# -- a restart, and the table ------------------------------------------------------------------


def test_a_restart_resumes_the_unsent_oldest_first_and_prunes_sent_rows_after_a_day(
    db: sa.Engine,
) -> None:
    async def scenario() -> None:
        clock = SimClock(T0)
        telegram = Telegram(clock)
        first = _box(db, clock, telegram)
        first.put(_notice("old", "a"))
        await first.save()
        await _send_due(first)  # sent at T0
        clock.advance(1)
        first.put(_notice("young", "a"))
        await first.save()
        await _send_due(first)  # sent at T0 + 1
        for key, account in (("u1", "b"), ("u2", "a"), ("u3", "b")):
            first.put(_notice(key, account))
        await first.save()

        clock.set(T0 + KEEP_SENT_MS)  # "old" is exactly a day old: kept
        again = _box(db, clock, telegram)
        assert await again.resume() == 3
        assert sorted(_rows(db)) == ["old", "u1", "u2", "u3", "young"]
        assert again.pending() == 3
        while await _send_due(again):
            pass
        assert telegram.accepted[2:] == [("b", "text u1"), ("a", "text u2"), ("b", "text u3")]

        clock.set(T0 + KEEP_SENT_MS + 1)
        assert await _box(db, clock, telegram).resume() == 0
        assert sorted(_rows(db)) == ["u1", "u2", "u3", "young"]

    _run(scenario)


def test_a_notice_resumed_twice_is_queued_once(db: sa.Engine) -> None:
    async def scenario() -> None:
        clock = SimClock(T0)
        telegram = Telegram(clock)
        first = _box(db, clock, telegram)
        first.put(_notice("k1"))
        await first.save()
        again = _box(db, clock, telegram)
        assert await again.resume() == 1
        assert await again.resume() == 1  # read again, not queued again
        assert again.pending() == 1
        while await _send_due(again):
            pass
        assert telegram.accepted == [("a1", "text k1")]

    _run(scenario)

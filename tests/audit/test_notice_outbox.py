"""The investors' notice outbox driven directly, on a SimClock: what is saved, queued, sent once
or dropped; what survives a restart; what the table keeps (the sending itself, its waits and
retries: test_notice_outbox_sending.py).

Found by mutation testing (docs/mutation.md, the `records` area): the outbox was only reached
through the whole Telegram service, whose tests see that notices arrive but not the waits, the
counts, the rows or a failed save.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import sqlalchemy as sa

from rampart.clock import SimClock
from rampart.domain.errors import StoreError
from rampart.notices.notify_prefs import NotifyPrefs
from rampart.notices.outbox import KEEP_SENT_MS, Outbox
from rampart.store.db import open_database
from tests.audit.notice_outbox_support import (
    T0,
    Telegram,
    _box,
    _notice,
    _rows,
    _run,
    _send_due,
)

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

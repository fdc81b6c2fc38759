"""The notices outbox past one machine, on a SimClock: a worker's writer puts rows
in the table, and the server holding the ops lease collects and sends them; a server that does
not hold it saves what it is given and sends nothing; a row is never sent twice, not even when
its send ends while a collection reads the table."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa

from rampart.clock import SimClock
from rampart.domain.errors import StoreError
from rampart.notices import outbox_writer
from rampart.notices.notify_prefs import NotifyPrefs
from rampart.notices.outbox import Outbox
from rampart.notices.outbox_writer import OutboxWriter
from tests.audit.notice_outbox_support import (
    T0,
    Telegram,
    _every_log_line,
    _notice,
    _rows,
    _run,
    _send_due,
)


def _server(db: sa.Engine, clock: SimClock, telegram: Telegram, holds: list[bool]) -> Outbox:
    return Outbox(db, clock, lambda: telegram, NotifyPrefs(db).load(), may_send=lambda: holds[0])


def test_a_workers_rows_are_written_once_and_collected_by_the_server_that_sends(
    db: sa.Engine,
) -> None:
    async def scenario() -> None:
        clock = SimClock(T0)
        writer = OutboxWriter(db, clock)
        writer.put(_notice("k1", "a1"))
        writer.put(_notice("k2", "a2"))
        writer.put(_notice("k1", "a1", text="told more fully"))  # the same event, before a write
        assert writer.unsaved() == 2
        assert await writer.flush() == 2
        assert writer.unsaved() == 0
        writer.put(_notice("k1", "a1"))  # the shard's next owner tells it again: not rewritten
        assert await writer.flush() == 0
        assert await writer.flush() == 0  # nothing put
        rows = _rows(db)
        assert rows["k1"] == ("a1", "kill", "told more fully", T0, None)
        assert rows["k2"][4] is None

        telegram = Telegram(clock)
        server = _server(db, clock, telegram, [True])
        assert await server.collect() == 2
        assert await server.collect() == 0  # queued already
        assert await _send_due(server) == 2
        assert sorted(telegram.accepted) == [("a1", "told more fully"), ("a2", "text k2")]
        assert all(r[4] == T0 for r in _rows(db).values())
        assert await server.collect() == 0  # sent rows are not collected again
        assert await _send_due(server) == 0

    _run(scenario)


def test_a_server_without_the_ops_lease_saves_but_sends_nothing_and_lets_its_queue_go(
    db: sa.Engine,
) -> None:
    async def scenario() -> None:
        clock = SimClock(T0)
        telegram = Telegram(clock)
        holds = [False]
        server = _server(db, clock, telegram, holds)
        server.put(_notice("k1"))  # a support answer given through this server
        assert await server.save() == 1
        assert await _send_due(server) == 0
        assert telegram.tries == []
        assert _rows(db)["k1"][4] is None
        # The holder sends it from the table; this one's queue is let go, not kept to send
        # again when it takes the lease back.
        other = _server(db, clock, Telegram(clock), [True])
        assert await other.collect() == 1
        assert await _send_due(other) == 1
        holds[0] = True
        assert await server.collect() == 0
        assert await _send_due(server) == 0
        assert telegram.tries == []

    _run(scenario)


def test_a_row_sent_while_a_collection_reads_the_table_is_not_queued_again(
    db: sa.Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def scenario() -> None:
        clock = SimClock(T0)
        telegram = Telegram(clock)
        server = _server(db, clock, telegram, [True])
        server.put(_notice("k1"))
        await server.save()
        read = server._unsent

        def read_then_send() -> list[tuple[str, str, str, str]]:
            rows = read()  # k1 unsent in the read …
            asyncio.run_coroutine_threadsafe(_send_due(server), loop).result()  # … sent now
            return rows

        loop = asyncio.get_running_loop()
        monkeypatch.setattr(server, "_unsent", read_then_send)
        sending = asyncio.create_task(server.collect())
        assert await sending == 0
        assert await _send_due(server) == 0
        assert telegram.accepted == [("a1", "text k1")]

    _run(scenario)


def test_the_servers_run_collects_on_the_clock_while_it_may_send(db: sa.Engine) -> None:
    async def scenario() -> None:
        clock = SimClock(T0)
        telegram = Telegram(clock)
        holds = [False]
        server = _server(db, clock, telegram, holds)
        stop = asyncio.Event()
        beats: list[int] = []
        task = asyncio.create_task(server.run(stop, lambda: beats.append(1), 0.01, 5.0))
        writer = OutboxWriter(db, clock)
        writer.put(_notice("k1"))
        await writer.flush()
        await _rounds(beats, 3)
        clock.advance(5_000)
        await _rounds(beats, 3)
        assert telegram.tries == []  # due, but not this server's to send
        holds[0] = True  # the lease taken: due since the start, collected and sent
        await _until_sent(telegram, 1)
        writer.put(_notice("k2"))
        await writer.flush()
        await _rounds(beats, 3)
        clock.advance(4_999)
        await _rounds(beats, 3)
        assert len(telegram.tries) == 1  # the next collection is five seconds after that one
        clock.advance(1)
        await _until_sent(telegram, 2)
        assert telegram.accepted == [("a1", "text k1"), ("a1", "text k2")]
        stop.set()
        await task

    _run(scenario)


async def _rounds(beats: list[int], n: int) -> None:
    target = len(beats) + n
    async with asyncio.timeout(30):
        while len(beats) < target:
            await asyncio.sleep(0.01)


async def _until_sent(telegram: Telegram, n: int) -> None:
    async with asyncio.timeout(30):
        while len(telegram.accepted) < n:
            await asyncio.sleep(0.01)


def test_a_writer_keeps_what_the_store_refused_and_writes_it_when_it_answers(
    db: sa.Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def scenario() -> None:
        clock = SimClock(T0)
        writer = OutboxWriter(db, clock)
        writer.put(_notice("k1"))
        failing = [True]
        real = outbox_writer.insert_new

        def insert(*args: Any) -> Any:
            if failing[0]:
                raise StoreError("Saving notifications failed: the database is away.")
            return real(*args)

        monkeypatch.setattr(outbox_writer, "insert_new", insert)
        with pytest.raises(StoreError):
            await writer.flush()
        writer.put(_notice("k1", text="told more fully"))
        writer.put(_notice("k2"))
        assert writer.unsaved() == 2
        stop = asyncio.Event()
        with _every_log_line() as logs:
            task = asyncio.create_task(writer.run(stop, 0.01))
            await _until(lambda: bool(logs))
        assert logs[0] == {
            "event": "notices_not_saved",
            "error": "StoreError",
            "log_level": "warning",
        }
        assert _rows(db) == {}  # still away: kept
        failing[0] = False
        await _until(lambda: len(_rows(db)) == 2)  # written at the next round, not the stop
        rows = _rows(db)
        assert sorted(rows) == ["k1", "k2"] and rows["k1"][2] == "told more fully"
        # Away again at the stop: the last write fails quietly, what was put is kept.
        failing[0] = True
        writer.put(_notice("k3"))
        stop.set()
        await task
        assert writer.unsaved() == 1 and "k3" not in _rows(db)

    _run(scenario)


async def _until(done: Callable[[], bool]) -> None:
    async with asyncio.timeout(30):
        while not done():
            await asyncio.sleep(0.01)


def test_a_collected_notice_honours_the_notify_choice_made_through_another_server(
    db: sa.Engine,
) -> None:
    async def scenario() -> None:
        clock = SimClock(T0)
        telegram = Telegram(clock)
        server = _server(db, clock, telegram, [True])
        # /notify through another server after this one started: kill-switch notices off.
        await NotifyPrefs(db).load().set("a1", ["kill"], False, T0)
        writer = OutboxWriter(db, clock)
        writer.put(_notice("k1", "a1", kind="kill"))
        writer.put(_notice("k2", "a1", kind="entries"))
        await writer.flush()
        assert await server.collect() == 2
        assert await _send_due(server) == 1  # one chat, one at a time
        await _send_due(server)
        assert telegram.accepted == [("a1", "text k2")]  # the kill notice dropped, not sent
        assert server.stats.dropped == 1 and server.stats.sent == 1
        assert all(r[4] is not None for r in _rows(db).values())  # both done with

    _run(scenario)

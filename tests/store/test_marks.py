"""The store writer's marks: rows buffered at a mark are durable only once a
batch holding them is committed; a batch put back after a failed write holds its rows back
until a batch detached after it is written; a worker's money notice is written for the server
to send only then, other notices at once."""

from __future__ import annotations

import asyncio
from pathlib import Path

import sqlalchemy as sa

from rampart.clock import SimClock
from rampart.notices.investor_notices import BRACKETS, ENTRIES, KILL, InvestorNotice
from rampart.notices.outbox_writer import OutboxWriter
from rampart.store.db import open_database
from rampart.store.marks import DurableMarks
from rampart.store.models import notify as mn
from rampart.store.writer import StoreWriter


def test_a_mark_is_durable_once_a_batch_holding_it_is_written() -> None:
    marks = DurableMarks()
    first = marks.mark()
    assert not marks.durable(first)
    one = marks.on_detach()  # the batch holding the rows buffered at `first`
    second = marks.mark()  # buffered while batch one is being written
    marks.on_written(one)
    assert marks.durable(first) and not marks.durable(second)
    two = marks.on_detach()
    marks.on_restore(two)  # its write failed: its rows are back in the buffer
    three = marks.on_detach()
    marks.on_written(three)
    assert marks.durable(second)  # batch three held batch two's rows


def test_a_batch_written_while_another_was_put_back_does_not_count_for_it() -> None:
    marks = DurableMarks()
    early = marks.mark()
    one = marks.on_detach()  # holds `early`
    two = marks.on_detach()  # detached while one was being written (holds none of it)
    marks.on_restore(one)  # one failed
    marks.on_written(two)
    assert not marks.durable(early)
    marks.on_written(marks.on_detach())
    assert marks.durable(early)


def test_a_workers_money_notice_is_written_only_after_its_record(tmp_path: Path) -> None:
    async def scenario() -> None:
        db = open_database(f"sqlite:///{tmp_path / 'w.db'}")
        writer, marks = OutboxWriter(db, SimClock(0)), DurableMarks()
        put = writer.sink(marks)
        put(InvestorNotice("entry|a|rp-1", "a", ENTRIES, "Bought", 1))
        put(InvestorNotice("bracket|a|rp-1", "a", BRACKETS, "refused the stop-loss", 1))
        put(InvestorNotice("kill|b|True|1|x", "b", KILL, "kill switch", 1))
        assert marks.flush_wanted
        # Account b's goes; a's entry waits, and what follows it for a waits behind it.
        assert await writer.flush() == 1
        marks.on_written(marks.on_detach())
        assert await writer.flush() == 2
        with db.connect() as conn:
            keys = (
                conn.execute(sa.select(mn.notify_outbox.c.key).order_by(mn.notify_outbox.c.id))
                .scalars()
                .all()
            )
        assert keys == ["kill|b|True|1|x", "entry|a|rp-1", "bracket|a|rp-1"]

    asyncio.run(scenario())


def test_the_writer_holds_back_a_batch_it_put_back_against_one_written_after(
    writer: StoreWriter,
) -> None:
    """Through the writer itself (``detach``, ``restore``, ``write``), on both databases: rows
    whose batch failed are not durable because a batch detached before they came back was
    written; they are once a batch detached after is."""
    writer.record_close("BTC/USDT", 3_600_000, 100.0)
    early = writer.marks.mark()
    one = writer.detach()  # holds the close
    two = writer.detach()  # detached while one was being written: holds none of it
    writer.restore(one)  # one's write failed: its rows are back in the buffer
    writer.write(two)
    assert not writer.marks.durable(early)
    writer.write(writer.detach())  # holds the close put back
    assert writer.marks.durable(early)

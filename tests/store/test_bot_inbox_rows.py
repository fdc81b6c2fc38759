"""The bot's durable commands and replies row by row (rampart.notices.command_book), beside the
round trip of tests/store/test_bot_inbox.py: every field a start reads back is the one written,
unhandled commands come back by update id and unsent replies by id, a handled command or a sent
reply is pruned only once older than a day (never one still to answer or to send), and a
failure of the store names what was being saved."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from rampart.domain.errors import StoreError
from rampart.notices.command_book import KEEP_MS, CommandBook, StoredCommand, StoredReply
from rampart.store.db import open_database
from rampart.store.models import notify as mn


def _count(db: sa.Engine, table: sa.Table) -> int:
    with db.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())


def test_a_start_reads_back_every_field_in_update_then_reply_order(db_url: str) -> None:
    db = open_database(db_url)
    try:
        book = CommandBook(db)
        # Fetched out of order (a webhook's updates may arrive so): resumed by update id.
        assert book.received(9, 101, '{"n": 9}', 1_000)
        assert book.received(3, 102, '{"n": 3}', 1_500)
        assert book.unhandled() == [
            StoredCommand(3, 102, '{"n": 3}', 1_500),
            StoredCommand(9, 101, '{"n": 9}', 1_000),
        ]
        first = book.reply(9, 101, "nine", None, "money", 2_000)
        second = book.reply(3, 102, "three", '{"inline_keyboard": []}', "reply", 2_100)
        assert second > first
        assert book.unsent() == [
            StoredReply(first, 9, 101, "nine", None, "money", 2_000),
            StoredReply(second, 3, 102, "three", '{"inline_keyboard": []}', "reply", 2_100),
        ]
        book.handled(3, 2_200)  # only that command, only that reply
        book.sent(second, 2_300)
        assert [c.update_id for c in book.unhandled()] == [9]
        assert [r.id for r in book.unsent()] == [first]
    finally:
        db.dispose()


def test_rows_are_pruned_only_once_handled_or_sent_more_than_a_day_ago(db_url: str) -> None:
    db = open_database(db_url)
    try:
        book = CommandBook(db)
        at = 10_000
        book.received(1, 101, "{}", at)  # handled at ``at``
        book.received(2, 101, "{}", at)  # never handled: to answer at the next start
        sent = book.reply(1, 101, "sent", None, "reply", at)
        unsent = book.reply(2, 101, "unsent", None, "reply", at)
        book.handled(1, at)
        book.sent(sent, at)
        book.prune(at + KEEP_MS)  # a day exactly: kept
        assert (_count(db, mn.bot_inbox), _count(db, mn.bot_replies)) == (2, 2)
        book.prune(at + KEEP_MS + 1)
        assert [c.update_id for c in book.unhandled()] == [2]
        assert [r.id for r in book.unsent()] == [unsent]
        assert (_count(db, mn.bot_inbox), _count(db, mn.bot_replies)) == (1, 1)
        book.prune(at + 100 * KEEP_MS)  # however old, what is still to do stays
        assert (_count(db, mn.bot_inbox), _count(db, mn.bot_replies)) == (1, 1)
    finally:
        db.dispose()


@pytest.mark.parametrize(
    ("what", "write"),
    [
        ("Saving a command failed", lambda b: b.received(1, 101, "{}", 1)),
        ("Saving a reply failed", lambda b: b.reply(1, 101, "t", None, "reply", 1)),
        ("Marking a reply sent failed", lambda b: b.sent(1, 1)),
        ("Marking a command handled failed", lambda b: b.handled(1, 1)),
        ("Pruning the bot's records failed", lambda b: b.prune(1)),
    ],
    ids=["received", "reply", "sent", "handled", "prune"],
)
def test_a_store_failure_names_what_was_being_saved(
    tmp_path: Path, what: str, write: object
) -> None:
    # A database without the bot's tables: every write fails in the driver.
    db = sa.create_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    try:
        with pytest.raises(StoreError) as failed:
            write(CommandBook(db))  # type: ignore[operator]
        assert str(failed.value).startswith(f"{what}: ")
    finally:
        db.dispose()


def test_a_mark_the_store_refused_is_written_with_the_next_one(db_url: str, tmp_path: Path) -> None:
    db = open_database(db_url)
    away = sa.create_engine(f"sqlite:///{tmp_path / 'empty.db'}")  # no tables: every write fails
    try:
        book = CommandBook(db)
        for update_id in (1, 2, 3):
            assert book.received(update_id, 101, f'{{"n": {update_id}}}', 1_000)
        first = book.reply(1, 101, "one", None, "reply", 1_100)
        second = book.reply(2, 101, "two", None, "reply", 1_200)
        book._db = away  # the store away while Telegram takes the first reply
        with pytest.raises(StoreError):
            book.sent(first, 1_300)
        with pytest.raises(StoreError):
            book.handled(1, 1_310)
        assert book.owed() == 2
        book._db = db  # back: the next marks carry the owed ones
        assert [r.id for r in book.unsent()] == [first, second]
        book.sent(second, 1_400)
        assert book.owed() == 0
        # A start now sends nothing again and runs only the command still unanswered.
        assert book.unsent() == []
        assert [c.update_id for c in book.unhandled()] == [2, 3]
        book.handled(2, 1_500)
        assert [c.update_id for c in book.unhandled()] == [3]
        with db.connect() as conn:
            r = mn.bot_replies
            marked = dict(conn.execute(sa.select(r.c.id, r.c.sent_at)).all())
        assert marked == {first: 1_300, second: 1_400}  # each at the time Telegram took it
    finally:
        away.dispose()
        db.dispose()

"""The bot's durable commands and replies on both backends: a command given again is
known (handled: not answered twice), an update id reused with another payload is a new command,
unsent replies and unhandled commands are what a start resumes, and old rows are pruned."""

from __future__ import annotations

from rampart.notices.command_book import KEEP_MS, CommandBook
from rampart.store.db import open_database


def test_commands_and_replies_round_trip(db_url: str) -> None:
    db = open_database(db_url)
    try:
        book = CommandBook(db)
        assert book.received(7, 101, '{"a": 1}', 1_000)
        assert book.received(7, 101, '{"a": 1}', 1_001)  # given again before it was handled
        first = book.reply(7, 101, "one", None, "reply", 1_002)
        second = book.reply(7, 101, "two", '{"inline_keyboard": []}', "money", 1_003)
        assert [c.update_id for c in book.unhandled()] == [7]
        book.handled(7, 1_004)
        assert book.unhandled() == []
        assert not book.received(7, 101, '{"a": 1}', 1_005)  # handled: never answered twice
        book.sent(first, 1_006)
        (left,) = book.unsent()
        assert (left.id, left.text, left.lane, left.markup) == (
            second,
            "two",
            "money",
            '{"inline_keyboard": []}',
        )
        # Telegram reused the id for another update (after a quiet week): a new command.
        assert book.received(7, 102, '{"b": 2}', 2_000)
        assert [(c.chat_id, c.payload) for c in book.unhandled()] == [(102, '{"b": 2}')]
        book.sent(second, 2_001)
        book.handled(7, 2_002)
        book.prune(2_002 + KEEP_MS + 1)
        assert book.unsent() == [] and book.unhandled() == []
        assert book.received(7, 102, '{"b": 2}', 3_000)  # pruned: as new
    finally:
        db.dispose()

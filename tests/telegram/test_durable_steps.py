"""The durable inbox's three steps around a command's handler (rampart.telegram.durable), on a
stand-in bot and book, no Telegram and no store: a reply is written only for a kept command,
with its buttons; a command given again once answered is counted and stopped; a handled
command is marked once, and the book pruned once an hour. The slow end-to-end view of the same
is tests/telegram/test_restart_flood.py, which mutation's ``inbox`` area leaves out."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest
from telegram import Chat, InlineKeyboardButton, InlineKeyboardMarkup, Message, Update, User
from telegram.ext import ApplicationHandlerStop

from rampart.clock import SimClock
from rampart.telegram.durable import PRUNE_EVERY_MS, handled, received, record_reply

NOW = 1_700_000_000_000


class Book:
    """Records what the bot writes; ``fresh`` is what ``received`` answers."""

    def __init__(self, fresh: bool = True) -> None:
        self.fresh = fresh
        self.calls: list[tuple[Any, ...]] = []

    def received(self, update_id: int, chat_id: int, payload: str, now: int) -> bool:
        self.calls.append(("received", update_id, chat_id, now))
        return self.fresh

    def reply(self, *args: Any) -> int:
        self.calls.append(("reply", *args))
        return 42

    def handled(self, update_id: int, now: int) -> None:
        self.calls.append(("handled", update_id, now))

    def prune(self, now: int) -> None:
        self.calls.append(("prune", now))


def _bot(book: Book | None, kept: set[int] | None = None) -> Any:
    return SimpleNamespace(
        book=book, kept=set(kept or ()), pace=SimClock(NOW), processed=0, pruned_at=NOW
    )


def _command(update_id: int, text: str = "/status") -> Update:
    user = User(7, "Ann", False)
    message = Message(1, datetime(2026, 11, 28, tzinfo=UTC), Chat(7, "private"), user, text=text)
    return Update(update_id, message=message)


def test_a_reply_is_written_only_for_a_kept_command_with_its_buttons() -> None:
    async def scenario() -> None:
        book = Book()
        bot = _bot(book, kept={5})
        keys = InlineKeyboardMarkup([[InlineKeyboardButton("Yes", callback_data="y")]])
        assert await record_reply(bot, _command(5), 7, "done", keys, "reply") == 42
        assert await record_reply(bot, _command(5), 7, "plain", None, "money") == 42
        assert await record_reply(bot, _command(6), 7, "not kept", None, "reply") is None
        assert await record_reply(_bot(None, {5}), _command(5), 7, "no book", None, "reply") is None
        buttons = '{"inline_keyboard": [[{"callback_data": "y", "text": "Yes"}]]}'
        assert book.calls == [
            ("reply", 5, 7, "done", buttons, "reply", NOW),
            ("reply", 5, 7, "plain", None, "money", NOW),
        ]

    asyncio.run(scenario())


def test_a_command_given_again_once_answered_is_counted_and_stopped() -> None:
    async def scenario() -> None:
        bot = _bot(Book(fresh=False))
        with pytest.raises(ApplicationHandlerStop):
            await received(bot, _command(5))
        with pytest.raises(ApplicationHandlerStop):
            await received(bot, _command(6))
        assert bot.processed == 2 and bot.kept == set()
        fresh = _bot(Book(fresh=True))
        await received(fresh, _command(8))  # new: kept for its handler, not counted yet
        assert fresh.kept == {8} and fresh.processed == 0

    asyncio.run(scenario())


def test_a_handled_command_is_marked_once_and_the_book_pruned_once_an_hour() -> None:
    async def scenario() -> None:
        book = Book()
        bot = _bot(book, kept={5, 6, 7})
        await handled(bot, _command(5))
        await handled(bot, _command(5))  # no longer kept: not marked twice
        await handled(bot, _command(9))  # never kept
        await handled(_bot(None, {5}), _command(5))
        bot.pace.set(NOW + PRUNE_EVERY_MS)
        await handled(bot, _command(6))  # an hour exactly: not yet
        bot.pace.set(NOW + PRUNE_EVERY_MS + 1)
        await handled(bot, _command(7))
        assert book.calls == [
            ("handled", 5, NOW),
            ("handled", 6, NOW + PRUNE_EVERY_MS),
            ("handled", 7, NOW + PRUNE_EVERY_MS + 1),
            ("prune", NOW + PRUNE_EVERY_MS + 1),
        ]
        assert bot.kept == set() and bot.pruned_at == NOW + PRUNE_EVERY_MS + 1

    asyncio.run(scenario())

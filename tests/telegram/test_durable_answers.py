"""How the durable inbox sends one saved answer (rampart.telegram.durable ``send_answer``,
``mark_sent``) and what a start resumes, on a stand-in bot and book, no Telegram: an answer goes
through the pacer in its lane as HTML (plainly without one) and its row is marked sent once
Telegram took it or refused it for good (a refused text apologised for once), each refusal or
failure logged with its chat and Telegram's words; a failure on the way leaves the row unsent
for the next start, and so does the store away (no error); a tap on a standing button (terms,
disclaimer, connect) is run again after a restart, a proposal's answered as gone; what is older
than the configured age, by a millisecond, is answered "too late"; without a store, nothing."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import structlog
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, NetworkError

from rampart.clock import SimClock
from rampart.notices.command_book import CommandBook
from rampart.store.db import open_database
from rampart.telegram.durable import PROPOSAL_GONE, TOO_LATE, mark_sent, resume, send_answer
from rampart.telegram.text import REPLY_REFUSED

NOW = 1_700_000_000_000
UID = 31_074


class Api(Bot):
    """Records each message asked; raises, in turn, the errors queued."""

    def __init__(self) -> None:
        super().__init__("123:abc")
        self._asked: list[tuple[int, str, dict[str, Any]]] = []
        self._errors: list[Exception] = []

    async def send_message(self, chat_id: int, text: str, **kwargs: Any) -> Any:  # type: ignore[override]
        self._asked.append((chat_id, text, kwargs))
        if self._errors:
            raise self._errors.pop(0)
        return True


class Book:
    def __init__(self) -> None:
        self.sent: list[tuple[int, int]] = []

    def sent_(self, reply_id: int, now: int) -> None:
        self.sent.append((reply_id, now))


@contextmanager
def _logged() -> Iterator[list[Any]]:
    """The log lines of the block, info and up (the suite's conftest filters below ERROR)."""
    before = structlog.get_config()["wrapper_class"]
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.INFO))
    try:
        with structlog.testing.capture_logs() as logs:
            yield logs
    finally:
        structlog.configure(wrapper_class=before)


def _lines(logs: list[Any]) -> list[tuple[str, int, str, str]]:
    return [(e["event"], e["chat_id"], e["error"], e["log_level"]) for e in logs]


def _bot(api: Api, pacer: object | None = True, book: Book | None = None) -> Any:
    book = book or Book()
    store = SimpleNamespace(sent=book.sent_)
    app = SimpleNamespace(bot=api)
    return SimpleNamespace(book=store, app=app, pacer=pacer, pace=SimClock(NOW))


def test_an_answer_goes_through_the_pacer_in_its_lane_and_its_row_is_marked_sent() -> None:
    async def scenario() -> None:
        api, book = Api(), Book()
        keys = InlineKeyboardMarkup([[InlineKeyboardButton("Yes", callback_data="y")]])
        await send_answer(_bot(api, book=book), 7, "filled", keys, "money", 42)
        await send_answer(_bot(api, pacer=None, book=book), 7, "plain", None, "reply", 43)
        (_, _, paced), (_, _, unpaced) = api._asked
        assert paced["rate_limit_args"] == {"lane": "money"} and paced["reply_markup"] is keys
        assert "rate_limit_args" not in unpaced  # no pacer: python-telegram-bot's plain call
        assert paced["parse_mode"] == unpaced["parse_mode"] == ParseMode.HTML
        assert book.sent == [(42, NOW), (43, NOW)]

    asyncio.run(scenario())


@pytest.mark.parametrize(
    ("text", "apology_refused"),
    [("a reply", False), ("a reply", True), (REPLY_REFUSED, False)],
    ids=["reply", "apology refused too", "the apology"],
)
def test_a_refused_answer_is_marked_sent_and_apologised_for_once(
    text: str, apology_refused: bool
) -> None:
    async def scenario() -> None:
        api, book = Api(), Book()
        api._errors = [BadRequest("Can't parse entities")] * (2 if apology_refused else 1)
        with _logged() as logs:
            await send_answer(_bot(api, book=book), 7, text, None, "reply", 42)
        asked = [t for _, t, _ in api._asked]
        assert asked == ([text, REPLY_REFUSED] if text != REPLY_REFUSED else [REPLY_REFUSED])
        assert book.sent == [(42, NOW)]  # refused for good: never sent again
        refused = ("telegram_answer_refused", 7, "Can't parse entities", "warning")
        assert _lines(logs) == [refused]

    asyncio.run(scenario())


def test_a_blocked_chat_is_marked_sent_without_an_apology() -> None:
    async def scenario() -> None:
        api, book = Api(), Book()
        api._errors = [Forbidden("bot was blocked by the user")]
        with _logged() as logs:
            await send_answer(_bot(api, book=book), 7, "a reply", None, "reply", 42)
        assert [t for _, t, _ in api._asked] == ["a reply"] and book.sent == [(42, NOW)]
        assert _lines(logs) == [
            ("telegram_answer_refused", 7, "bot was blocked by the user", "info")
        ]

    asyncio.run(scenario())


@pytest.mark.parametrize(
    ("error", "line"),
    [
        (NetworkError("stopped"), ("telegram_answer_failed", 7, "stopped", "warning")),
        (NetworkError("x" * 300), ("telegram_answer_failed", 7, "x" * 200, "warning")),
        (ValueError("a bug"), ("telegram_answer_failed", 7, None, "error")),
    ],
    ids=["network", "long words cut", "a bug"],
)
def test_an_answer_that_failed_on_the_way_stays_unsent(
    error: Exception, line: tuple[str, int, str | None, str]
) -> None:
    async def scenario() -> None:
        api, book = Api(), Book()
        api._errors = [error]
        with _logged() as logs:
            await send_answer(_bot(api, book=book), 7, "a reply", None, "reply", 42)
        assert book.sent == []  # the next start sends it again
        seen = [(e["event"], e["chat_id"], e.get("error"), e["log_level"]) for e in logs]
        assert seen == [line]

    asyncio.run(scenario())


def test_an_answer_sent_while_the_store_is_away_is_not_an_error() -> None:
    async def scenario() -> None:
        api = Api()
        bot = _bot(api)

        def away(reply_id: int, now: int) -> None:
            raise OSError("the store is away")

        bot.book = SimpleNamespace(sent=away)
        # Not marked, so sent again at the next start: at least once, never lost.
        await send_answer(bot, 7, "a reply", None, "reply", 42)
        assert [t for _, t, _ in api._asked] == ["a reply"]

    asyncio.run(scenario())


def test_only_a_saved_answer_is_marked() -> None:
    async def scenario() -> None:
        book = Book()
        await mark_sent(_bot(Api(), book=book), None)  # its command was not kept
        bot = _bot(Api(), book=book)
        bot.book = None
        await mark_sent(bot, 42)
        assert book.sent == []

    asyncio.run(scenario())


def resuming_bot(book: Any, api: Bot, process_update: Any, pacer: object | None = None) -> Any:
    """A stand-in bot over ``book`` for a start's resume: its commands run by
    ``process_update``, its answers asked of ``api``, commands kept for 600 s."""
    app = SimpleNamespace(bot=api, process_update=process_update)
    return SimpleNamespace(
        book=book, app=app, pacer=pacer, resumed=[], pace=SimClock(NOW),
        settings=SimpleNamespace(telegram=SimpleNamespace(command_max_age_s=600)),
    )  # fmt: skip


async def resume_all(bot: Any) -> tuple[int, int, int]:
    """``resume``, and every answer it queued sent."""
    counts = await resume(bot)
    await asyncio.gather(*bot.resumed)
    return counts


def _tap(update_id: int, data: str) -> str:
    sender = {"id": UID, "is_bot": False, "first_name": "Ann"}
    chat = {"id": UID, "type": "private"}
    message = {"message_id": 5, "date": 1_700_000_000, "chat": chat}
    query = {"id": f"q{update_id}", "from": sender, "chat_instance": "c", "data": data}
    return json.dumps({"update_id": update_id, "callback_query": {**query, "message": message}})


def test_a_standing_buttons_tap_is_run_again_and_a_proposals_answered_as_gone(
    tmp_path: Path,
) -> None:
    db = open_database(f"sqlite:///{tmp_path / 'inbox.db'}")
    ran: list[int] = []
    api = Api()

    async def process_update(update: Any) -> None:
        ran.append(update.update_id)

    try:
        book = CommandBook(db)
        book.received(1, UID, _tap(1, "terms:accept"), NOW)
        book.received(2, UID, _tap(2, "demo:yes:tok"), NOW)
        bot = resuming_bot(book, api, process_update)
        start = partial(resume_all, bot)

        assert asyncio.run(start()) == (0, 2, 0)
        assert ran == [1]
        assert [t for _, t, _ in api._asked] == [PROPOSAL_GONE]
    finally:
        db.dispose()


def test_a_start_answers_too_late_what_is_older_than_the_age_to_the_millisecond(
    tmp_path: Path,
) -> None:
    db = open_database(f"sqlite:///{tmp_path / 'inbox.db'}")
    ran: list[int] = []
    api = Api()

    async def process_update(update: Any) -> None:
        ran.append(update.update_id)

    try:
        book = CommandBook(db)
        book.received(1, UID, _tap(1, "terms:accept"), NOW - 600_001)  # a millisecond too old
        book.received(2, UID, _tap(2, "terms:accept"), NOW - 600_000)  # the age exactly
        bot = resuming_bot(book, api, process_update)
        start = partial(resume_all, bot)

        assert asyncio.run(start()) == (0, 1, 1)
        assert ran == [2] and [t for _, t, _ in api._asked] == [TOO_LATE]
        bot.book, bot.resumed = None, []  # no store: nothing kept, nothing to resume
        assert asyncio.run(start()) == (0, 0, 0)
    finally:
        db.dispose()

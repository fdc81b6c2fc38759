"""What a start does with the replies the last run saved and did not send (rampart.telegram.durable
``resume``), on a real command book and a stand-in Bot API: a reply within the age is sent
again to its chat, with its buttons and in its lane, and its command, which already ran, is
marked handled and not run again; a reply older than the age is marked sent without being sent
and its chat told "too late" once, in the reply lane, that answer marked sent in its turn."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from telegram import InlineKeyboardMarkup

from rampart.notices.command_book import CommandBook
from rampart.store.db import open_database
from rampart.telegram.bot_api import MONEY, REPLY
from rampart.telegram.durable import TOO_LATE

from .test_durable_answers import NOW, Api, resume_all, resuming_bot

AGE_MS = 600_000  # resuming_bot keeps commands 600 s
FRESH, STALE = 41, 42
CHAT_FRESH, CHAT_STALE = 7_001, 7_002
BUTTONS = {"inline_keyboard": [[{"text": "Portfolio", "callback_data": "nav:portfolio"}]]}


def _command(update_id: int, chat_id: int) -> str:
    message = {"message_id": 1, "date": 1_700_000_000, "chat": {"id": chat_id, "type": "private"}}
    return json.dumps({"update_id": update_id, "message": {**message, "text": "/portfolio"}})


def test_saved_replies_are_sent_again_or_answered_too_late_and_their_commands_not_rerun(
    tmp_path: Path,
) -> None:
    db = open_database(f"sqlite:///{tmp_path / 'inbox.db'}")
    ran: list[int] = []
    api = Api()

    async def process_update(update: Any) -> None:
        ran.append(update.update_id)

    try:
        book = CommandBook(db)
        book.received(FRESH, CHAT_FRESH, _command(FRESH, CHAT_FRESH), NOW - AGE_MS)
        fresh = book.reply(
            FRESH, CHAT_FRESH, "Your portfolio", json.dumps(BUTTONS), MONEY, NOW - AGE_MS
        )
        book.received(STALE, CHAT_STALE, _command(STALE, CHAT_STALE), NOW - AGE_MS - 1)
        stale = book.reply(STALE, CHAT_STALE, "Old answer", None, REPLY, NOW - AGE_MS - 1)
        bot = resuming_bot(book, api, process_update, pacer=True)
        assert asyncio.run(resume_all(bot)) == (1, 0, 1)
        assert ran == []  # both commands had run: their replies were saved
        by_chat = {chat: (text, kwargs) for chat, text, kwargs in api._asked}
        assert sorted(by_chat) == [CHAT_FRESH, CHAT_STALE] and len(api._asked) == 2
        text, kwargs = by_chat[CHAT_FRESH]
        assert text == "Your portfolio"
        assert kwargs["rate_limit_args"] == {"lane": MONEY}
        markup = kwargs["reply_markup"]
        assert isinstance(markup, InlineKeyboardMarkup)
        assert markup.to_dict() == BUTTONS
        text, kwargs = by_chat[CHAT_STALE]
        assert text == TOO_LATE and kwargs["rate_limit_args"] == {"lane": REPLY}
        assert kwargs["reply_markup"] is None
        # Nothing is left to send or run at the next start; the stale reply was never sent.
        assert book.unsent() == [] and book.unhandled() == []
        assert all(t != "Old answer" for _, t, _ in api._asked)
        assert stale != fresh
    finally:
        db.dispose()

"""A ``/connect`` message with anything on its line (an exchange key,
pasted there against the advice) is never written to the bot's inbox table, whichever way the
command is spelt; a plain command is. Pins ``telegram/durable.py`` ``keeps``."""

from __future__ import annotations

import asyncio
from pathlib import Path
from types import SimpleNamespace

import pytest
from telegram import Bot, Update

from rampart.notices.command_book import CommandBook
from rampart.store.db import open_database
from rampart.telegram.durable import KeepingQueue

UID = 31_072


def _update(update_id: int, text: str, bot: Bot) -> Update:
    body = {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": 1_700_000_000,
            "chat": {"id": UID, "type": "private"},
            "from": {"id": UID, "is_bot": False, "first_name": "Ann"},
            "text": text,
        },
    }
    return Update.de_json(body, bot)


@pytest.mark.parametrize(
    "text", ["/connect binance AKIAEXAMPLEKEYEXAMPLEKEY0123", "/connect@RampartBot binance SECRET"]
)
def test_a_connect_line_with_a_key_is_never_kept_in_the_inbox(tmp_path: Path, text: str) -> None:
    db = open_database(f"sqlite:///{tmp_path / 'inbox.db'}")
    try:
        book = CommandBook(db)
        bot = Bot("123:abc")
        queue = KeepingQueue()
        # What _write reads of the bot: its book and its clock.
        fake = SimpleNamespace(book=book, pace=SimpleNamespace(now_ms=lambda: 1_000))
        queue.bot = fake  # type: ignore[assignment]

        async def put_both() -> None:
            await queue.put(_update(1, text, bot))
            await queue.put(_update(2, "/balance", bot))

        asyncio.run(put_both())
        kept = book.unhandled()
        assert [c.update_id for c in kept] == [2]  # the plain command, and nothing of the key
        assert all("SECRET" not in c.payload and "AKIA" not in c.payload for c in kept)
    finally:
        db.dispose()

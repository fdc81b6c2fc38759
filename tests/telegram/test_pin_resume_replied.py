"""After a crash, a command whose replies were already saved (it ran,
the process died before they went out) is not run again at the next start: its saved replies
are sent, once, and it is marked handled; a command with no saved reply is run again. Pins
``telegram/durable.py`` ``resume`` (``if c.update_id in replied``)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from telegram import Bot

from rampart.notices.command_book import CommandBook
from rampart.store.db import open_database
from rampart.telegram.durable import resume

UID = 31_073


def _payload(update_id: int, text: str) -> str:
    chat = {"id": UID, "type": "private"}
    sender = {"id": UID, "is_bot": False, "first_name": "Ann"}
    message = {"message_id": update_id, "date": 1_700_000_000, "chat": chat, "from": sender}
    return json.dumps({"update_id": update_id, "message": {**message, "text": text}})


def test_a_command_whose_replies_were_saved_is_not_run_again(tmp_path: Path) -> None:
    db = open_database(f"sqlite:///{tmp_path / 'inbox.db'}")
    sent: list[str] = []
    ran: list[int] = []

    class _Api(Bot):
        async def send_message(self, chat_id: int, text: str, **_: Any) -> Any:  # type: ignore[override]
            sent.append(text)

    async def process_update(update: Any) -> None:
        ran.append(update.update_id)

    try:
        book = CommandBook(db)
        book.received(1, UID, _payload(1, "/sell BTC"), 1_000)
        book.reply(1, UID, "Sold 0.1 BTC.", None, "reply", 1_001)  # saved, never sent
        book.received(2, UID, _payload(2, "/balance"), 1_002)  # fetched, never run
        app = SimpleNamespace(bot=_Api("123:abc"), process_update=process_update)
        bot = SimpleNamespace(
            book=book, app=app, pacer=None, resumed=[], pace=SimpleNamespace(now_ms=lambda: 2_000),
            settings=SimpleNamespace(telegram=SimpleNamespace(command_max_age_s=600)),
        )  # fmt: skip

        async def start() -> tuple[int, int, int]:
            counts = await resume(bot)  # type: ignore[arg-type]
            await asyncio.gather(*bot.resumed)
            return counts

        assert asyncio.run(start()) == (1, 1, 0)
        assert sent == ["Sold 0.1 BTC."]  # the saved reply, once
        assert ran == [2]  # /sell not run a second time; /balance run
        assert book.unsent() == []
    finally:
        db.dispose()

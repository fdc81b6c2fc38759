"""A reply sent, and its command answered, while the store was away: the marks the store refused
are written by the running bot's next beat once the store is back, with no other command to
carry them, and by its stop when no beat comes first; left owed, the next start would send the
reply again and run the command again. The store is the bot's real book on SQLite; "away" is the
book pointed at a database without its tables from the moment the reply's row is written."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from tests.telegram.conftest import TgService

UID = 31_500


async def _answered_while_away(svc: TgService, away: sa.Engine) -> sa.Engine:
    """Send /help with the store going away as its reply is written; back once Telegram took
    the reply and both marks were refused. The store's own engine, to put back."""
    book = svc.bot.book
    assert book is not None
    real, write_reply = book._db, book.reply

    def reply_then_away(*args: Any) -> int:
        kept = write_reply(*args)
        book._db = away
        return kept

    book.reply = reply_then_away  # type: ignore[method-assign]
    before = len(svc.api.texts(UID))
    svc.api.push_text(UID, "/help")
    await svc.until(lambda: len(svc.api.texts(UID)) > before and book.owed() == 2, 30)
    book.reply = write_reply  # type: ignore[method-assign]
    return real


def _left(svc: TgService, real: sa.Engine) -> tuple[int, int]:
    """(replies unsent, commands unhandled) as the next start would read them."""
    book = svc.bot.book
    assert book is not None
    book._db = real
    return len(book.unsent()), len(book.unhandled())


def test_the_next_beat_writes_what_the_store_refused(tmp_path: Path) -> None:
    away = sa.create_engine(f"sqlite:///{tmp_path / 'away.db'}")

    async def scenario() -> None:
        ops = {"ops": {"heartbeat_every_s": 0.05}}
        async with TgService(tmp_path, extra=ops) as svc:
            await svc.register([UID])
            real = await _answered_while_away(svc, away)
            book = svc.bot.book
            assert book is not None
            # A beat meets the store still away: it says so, and the marks stay owed.
            await svc.until(lambda: "telegram_marks_owed" in svc.log_path.read_text(), 30)
            assert book.owed() == 2
            book._db = real
            await svc.until(lambda: book.owed() == 0, 30)
            assert _left(svc, real) == (0, 0)

    try:
        asyncio.run(scenario())
    finally:
        away.dispose()


def test_a_stop_writes_what_the_store_refused(tmp_path: Path) -> None:
    away = sa.create_engine(f"sqlite:///{tmp_path / 'away.db'}")

    async def scenario() -> None:
        ops = {"ops": {"heartbeat_every_s": 3600}}  # no beat comes before the stop
        async with TgService(tmp_path, extra=ops) as svc:
            await svc.register([UID])
            real = await _answered_while_away(svc, away)
            book = svc.bot.book
            assert book is not None
            book._db = real
            assert book.owed() == 2
            svc.stop.set()
            await asyncio.wait_for(svc.task, timeout=30)
            assert book.owed() == 0
            assert _left(svc, real) == (0, 0)

    try:
        asyncio.run(scenario())
    finally:
        away.dispose()

"""The :class:`rampart.runtime.messaging.Messenger` port on Telegram: what rollout and reports send
to an investor (by account) and to the operator chat (text, charts, files).

Nothing here raises: a message that cannot be delivered is logged and reported as False, so a
rollout step or a report job never fails because Telegram is down. Every message goes through
the bot's limiter (:mod:`rampart.telegram.pacer`); a notice asks it to raise a 429 rather than
wait it out, since the outbox keeps it and tries that chat again later.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import structlog
from telegram.constants import MessageLimit, ParseMode
from telegram.error import BadRequest, Forbidden, RetryAfter

from rampart.runtime.messaging import SendLater
from rampart.telegram.pacer import RAISE, retry_after_s

if TYPE_CHECKING:
    from rampart.telegram.bot import RampartBot

log = structlog.get_logger("rampart.telegram")

LIMIT = int(MessageLimit.MAX_TEXT_LENGTH)
PHOTO_SUFFIXES = frozenset({".png", ".jpg", ".jpeg"})


def split_text(html: str, limit: int = LIMIT) -> list[str]:
    """Pieces of at most ``limit`` characters, cut at line ends so tags (which Rampart keeps on
    one line) stay whole; only a single line longer than the limit is cut inside."""
    pieces: list[str] = []
    current = ""
    for line in html.split("\n"):
        while len(line) > limit:
            if current:
                pieces.append(current)
                current = ""
            pieces.append(line[:limit])
            line = line[limit:]
        joined = f"{current}\n{line}" if current else line
        if len(joined) > limit:
            pieces.append(current)
            current = line
        else:
            current = joined
    if current.strip():
        pieces.append(current)
    return pieces


async def send_text(bot: RampartBot, chat_id: int, html: str, *, notice: bool = False) -> None:
    """``html`` in pieces, each waiting its turn at the limiter; ``notice``: a 429 is raised to
    the caller (the outbox) instead of waited out."""
    limits = {"rate_limit_args": {"flood": RAISE}} if notice and bot.pacer is not None else {}
    for piece in split_text(html):
        await bot.app.bot.send_message(chat_id, piece, parse_mode=ParseMode.HTML, **limits)


async def send_file(bot: RampartBot, chat_id: int, path: Path) -> None:
    data = await asyncio.to_thread(path.read_bytes)
    if path.suffix.lower() in PHOTO_SUFFIXES:
        await bot.app.bot.send_photo(chat_id, data, filename=path.name)
    else:
        await bot.app.bot.send_document(chat_id, data, filename=path.name)


async def tell_account(bot: RampartBot, account_id: str, html: str) -> bool:
    try:
        telegram_id = await bot.operator.investors.telegram_id_of(account_id)
        if telegram_id is None:
            return False
        await send_text(bot, telegram_id, html)
    except Exception as exc:  # a message that cannot go out must not stop its sender
        log.warning("telegram_tell_failed", account_id=account_id, error=type(exc).__name__)
        return False
    return True


async def deliver(bot: RampartBot, account_id: str, html: str) -> bool:
    """A notice for the outbox (:class:`rampart.runtime.messaging.Deliverer`): False when it can
    never arrive (no investor; blocked, or refused as malformed), :class:`SendLater` on a 429;
    anything else raises, so it is tried again."""
    telegram_id = await bot.operator.investors.telegram_id_of(account_id)
    if telegram_id is None:
        return False
    try:
        await send_text(bot, telegram_id, html, notice=True)
    except RetryAfter as exc:
        raise SendLater(retry_after_s(exc)) from exc
    except (Forbidden, BadRequest) as exc:
        log.warning("telegram_notice_refused", account_id=account_id, error=str(exc)[:200])
        return False
    return True


async def tell_operators(bot: RampartBot, html: str, attachments: Sequence[Path] = ()) -> bool:
    chat = bot.settings.telegram.operator_chat_id
    if chat is None:
        return False
    try:
        if html.strip():
            await send_text(bot, chat, html)
        for path in attachments:
            await send_file(bot, chat, Path(path))
    except Exception as exc:  # a message that cannot go out must not stop its sender
        log.warning("telegram_tell_operators_failed", error=type(exc).__name__)
        return False
    return True

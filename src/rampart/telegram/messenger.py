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
from typing import TYPE_CHECKING, Any

import structlog
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, RetryAfter

from rampart.runtime.messaging import SendLater
from rampart.telegram.bot_api import MONEY, REPLY, REPORT, retry_after_s
from rampart.telegram.pacer import RAISE
from rampart.telegram.split import LIMIT, split_text

if TYPE_CHECKING:
    from rampart.telegram.bot_view import BotView

log = structlog.get_logger("rampart.telegram")

PHOTO_SUFFIXES = frozenset({".png", ".jpg", ".jpeg"})


async def send_text(
    bot: BotView, chat_id: int, html: str, *, notice: bool = False, lane: str | None = None
) -> None:
    """``html`` in pieces, each waiting its turn at the limiter in ``lane`` (a notice: the
    money lane); ``notice``: a 429 is raised to the caller (the outbox) instead of waited out."""
    limits: dict[str, Any] = {}
    if bot.pacer is not None:
        asked: dict[str, str] = {"lane": lane or (MONEY if notice else REPLY)}
        if notice:
            asked["flood"] = RAISE
        limits = {"rate_limit_args": asked}
    for piece in split_text(html):
        await bot.app.bot.send_message(chat_id, piece, parse_mode=ParseMode.HTML, **limits)


async def send_file(bot: BotView, chat_id: int, path: Path) -> None:
    data = await asyncio.to_thread(path.read_bytes)
    limits: dict[str, Any] = {"rate_limit_args": {"lane": REPORT}} if bot.pacer else {}
    if path.suffix.lower() in PHOTO_SUFFIXES:
        await bot.app.bot.send_photo(chat_id, data, filename=path.name, **limits)
    else:
        await bot.app.bot.send_document(chat_id, data, filename=path.name, **limits)


async def tell_account(bot: BotView, account_id: str, html: str) -> bool:
    try:
        telegram_id = await bot.operator.investors.telegram_id_of(account_id)
        if telegram_id is None:
            return False
        await send_text(bot, telegram_id, html)
    except Exception as exc:  # a message that cannot go out must not stop its sender
        log.warning("telegram_tell_failed", account_id=account_id, error=type(exc).__name__)
        return False
    return True


async def deliver(bot: BotView, account_id: str, html: str) -> bool:
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


async def tell_operators(bot: BotView, html: str, attachments: Sequence[Path] = ()) -> bool:
    chat = bot.settings.telegram.operator_chat_id
    if chat is None:
        return False
    try:
        if html.strip():
            await send_text(bot, chat, html, lane=REPORT)
        for path in attachments:
            await send_file(bot, chat, Path(path))
    except Exception as exc:  # a message that cannot go out must not stop its sender
        log.warning("telegram_tell_operators_failed", error=type(exc).__name__)
        return False
    return True


__all__ = [
    "LIMIT",
    "deliver",
    "send_file",
    "send_text",
    "split_text",
    "tell_account",
    "tell_operators",
]

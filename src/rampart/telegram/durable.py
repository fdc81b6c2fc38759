"""Every command answered across restarts: the bot's side of
:class:`rampart.notices.command_book.CommandBook`.

A command is written as it arrives (:func:`received`, before its handler runs), each reply
before it joins the pacer's queue (:meth:`RampartBot.reply`), the command marked handled once
its handler is done (:func:`handled`: its replies are all written by then), each reply marked
sent once Telegram accepted it. :func:`resume`, at the start, sends the replies a stop left
unsent and runs again the commands it left unhandled; either, older than
``telegram.command_max_age_s``, becomes one "this took too long, please ask again" instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import defaultdict
from typing import TYPE_CHECKING, Any

import structlog
from telegram import InlineKeyboardMarkup, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, TelegramError
from telegram.ext import ApplicationHandlerStop

from rampart.telegram.bot_api import REPLY

if TYPE_CHECKING:
    from rampart.notices.command_book import CommandBook
    from rampart.telegram.bot_view import BotView

log = structlog.get_logger("rampart.telegram")

PRUNE_EVERY_MS = 3_600_000
"""How often a running bot deletes the rows older than a day (also at each start)."""
TOO_LATE = "This took too long to answer (the bot was restarting); please ask again."


def book_for(bot: BotView) -> CommandBook | None:
    """The book on the service's store (None when it has none: nothing is kept); the bot's
    :class:`KeepingQueue`, when it has one, writes fetched commands into it from now on."""
    if isinstance(bot.app.update_queue, KeepingQueue):
        bot.app.update_queue.bot = bot
    return bot.operator.command_book()


def keeps(update: Update) -> bool:
    """A command or a button tap in a private chat, whose update may be stored: never a key
    (``/connect`` with something on its line, or free text), never an edit."""
    query = update.callback_query
    if query is not None:
        return query.message is not None and query.message.chat.type == "private"
    message = update.message
    if message is None or message.chat.type != "private":
        return False
    text = message.text or ""
    if not text.startswith("/"):
        return False
    name, _, rest = text.partition(" ")
    return not (name.split("@")[0] == "/connect" and rest.strip())


PROPOSAL_GONE = (
    "You tapped a button while the bot was restarting, and the proposal it answered is gone. "
    "If it had gone through, /portfolio shows it; otherwise send the command again."
)
"""A kept tap on a proposal's button (Confirm, Cancel) run after a restart: proposals live in
the running bot only, and whether the crash came before or after acting is not known, so this
says where to look instead of guessing (never "nothing was changed")."""
STANDING_BUTTONS = ("terms:", "disclaimer:", "connect:")
"""Buttons whose tap means the same after a restart (they name no proposal): run again."""


def _proposal_tap(update: Update) -> bool:
    query = update.callback_query
    return query is not None and not (query.data or "").startswith(STANDING_BUTTONS)


def _chat_of(update: Update) -> int | None:
    chat = update.effective_chat
    return None if chat is None else chat.id


class KeepingQueue(asyncio.Queue[object]):
    """The application's update queue, writing each command to ``bot_inbox`` as it is fetched.

    The updater awaits ``put`` for every update of a batch before its next ``getUpdates``, and
    that call is what confirms the batch to Telegram: written here, a kill -9 between the fetch
    and the handler loses nothing (else updates fetched but not yet handled are lost).
    The webhook's server puts its updates here too."""

    def __init__(self) -> None:
        super().__init__()
        self.bot: BotView | None = None

    async def put(self, item: object) -> None:
        if self.bot is not None and isinstance(item, Update):
            try:
                await _write(self.bot, item)
            except Exception as exc:  # the store away: the handler's write tries again
                log.warning("telegram_inbox_write_failed", error=str(exc)[:200])
        await super().put(item)


async def _write(bot: BotView, update: Update) -> bool | None:
    """Write a kept command (None: not kept); False when it was handled already."""
    chat_id = _chat_of(update)
    if bot.book is None or chat_id is None or not keeps(update):
        return None
    payload = json.dumps(update.to_dict())
    now = bot.pace.now_ms()
    book = bot.book
    return await asyncio.to_thread(book.received, update.update_id, chat_id, payload, now)


async def received(bot: BotView, update: Update) -> None:
    fresh = await _write(bot, update)
    if fresh is None:
        return
    if not fresh:
        # Answered before a restart and given again: answered once, so not again.
        bot.processed += 1
        raise ApplicationHandlerStop
    bot.kept.add(update.update_id)


async def handled(bot: BotView, update: Update) -> None:
    if bot.book is None or update.update_id not in bot.kept:
        return
    bot.kept.discard(update.update_id)
    now = bot.pace.now_ms()
    await asyncio.to_thread(bot.book.handled, update.update_id, now)
    if now - bot.pruned_at > PRUNE_EVERY_MS:
        bot.pruned_at = now
        await asyncio.to_thread(bot.book.prune, now)


async def record_reply(
    bot: BotView,
    update: Update,
    chat_id: int,
    text: str,
    markup: InlineKeyboardMarkup | None,
    lane: str,
) -> int | None:
    """The reply's row (None: its command is not kept, so neither is it)."""
    if bot.book is None or update.update_id not in bot.kept:
        return None
    keys = json.dumps(markup.to_dict()) if markup is not None else None
    now = bot.pace.now_ms()
    return await asyncio.to_thread(bot.book.reply, update.update_id, chat_id, text, keys, lane, now)


async def mark_sent(bot: BotView, reply_id: int | None) -> None:
    if bot.book is None or reply_id is None:
        return
    await asyncio.to_thread(bot.book.sent, reply_id, bot.pace.now_ms())


async def write_owed(bot: BotView) -> None:
    """Write the sent and handled marks the store refused while it was away (called on every
    beat of the running bot and at its stop): a quiet bot has no next mark to carry them, and
    left owed they would make the next start send a reply again or run a command again."""
    book = bot.book
    if book is None or not book.owed():
        return
    try:
        await asyncio.to_thread(book.flush)
    except Exception as exc:  # still away: owed until the next beat
        log.warning("telegram_marks_owed", owed=book.owed(), error=str(exc)[:200])


async def send_answer(
    bot: BotView,
    chat_id: int,
    text: str,
    markup: InlineKeyboardMarkup | None,
    lane: str = REPLY,
    reply_id: int | None = None,
) -> None:
    """One queued answer, through the pacer in ``lane``; its row marked sent once Telegram took
    it (or refused it for good). A refusal is logged and, when it was the text, apologised for;
    a stop before it went leaves it unsent, for the next start."""
    from rampart.telegram.text import REPLY_REFUSED

    limits: dict[str, Any] = {"rate_limit_args": {"lane": lane}} if bot.pacer else {}
    try:
        await bot.app.bot.send_message(
            chat_id, text, parse_mode=ParseMode.HTML, reply_markup=markup, **limits
        )
    except Forbidden as exc:  # blocked by the user: nobody to tell
        log.info("telegram_answer_refused", chat_id=chat_id, error=exc.message)
    except BadRequest as exc:
        log.warning("telegram_answer_refused", chat_id=chat_id, error=exc.message[:200])
        if text != REPLY_REFUSED:
            with contextlib.suppress(TelegramError):
                await bot.app.bot.send_message(chat_id, REPLY_REFUSED)
    except TelegramError as exc:
        log.warning("telegram_answer_failed", chat_id=chat_id, error=exc.message[:200])
        return
    except Exception:
        log.exception("telegram_answer_failed", chat_id=chat_id)
        return
    with contextlib.suppress(Exception):  # the store away: sent again at most, never lost
        await mark_sent(bot, reply_id)


async def resume(bot: BotView) -> tuple[int, int, int]:
    """Send what the last run left unsent and run what it left unhandled; (replies sent again,
    commands run again, answered "too late")."""
    book = bot.book
    if book is None:
        return 0, 0, 0
    now = bot.pace.now_ms()
    max_age = int(bot.settings.telegram.command_max_age_s * 1000)
    replies = await asyncio.to_thread(book.unsent)
    commands = await asyncio.to_thread(book.unhandled)
    late: dict[int, int] = {}
    """Update id → its chat, for commands answered "too late"."""
    by_update: dict[int, list[int]] = defaultdict(list)
    tasks = []
    again = 0
    for r in replies:
        if now - r.created_at > max_age:
            late[r.update_id] = r.chat_id
            by_update[r.update_id].append(r.id)
            continue
        markup = (
            InlineKeyboardMarkup.de_json(json.loads(r.markup), bot.app.bot) if r.markup else None
        )
        tasks.append(asyncio.create_task(send_answer(bot, r.chat_id, r.text, markup, r.lane, r.id)))
        again += 1
    for c in commands:
        if now - c.received_at > max_age or c.update_id in late:
            late[c.update_id] = c.chat_id
            await asyncio.to_thread(book.handled, c.update_id, now)
    for update_id, chat_id in late.items():
        for reply_id in by_update.get(update_id, []):
            await asyncio.to_thread(book.sent, reply_id, now)  # replaced by the one below
        reply_id = await asyncio.to_thread(
            book.reply, update_id, chat_id, TOO_LATE, None, REPLY, now
        )
        tasks.append(
            asyncio.create_task(send_answer(bot, chat_id, TOO_LATE, None, REPLY, reply_id))
        )
    rerun = 0
    replied = {r.update_id for r in replies}
    for c in commands:
        if c.update_id in late:
            continue
        if c.update_id in replied:
            # It ran and wrote its replies (sent above); running it again would answer twice.
            await asyncio.to_thread(book.handled, c.update_id, now)
            continue
        update = Update.de_json(json.loads(c.payload), bot.app.bot)
        if _proposal_tap(update):
            reply_id = await asyncio.to_thread(
                book.reply, c.update_id, c.chat_id, PROPOSAL_GONE, None, REPLY, now
            )
            await asyncio.to_thread(book.handled, c.update_id, now)
            tasks.append(
                asyncio.create_task(
                    send_answer(bot, c.chat_id, PROPOSAL_GONE, None, REPLY, reply_id)
                )
            )
        else:
            await bot.app.process_update(update)
        rerun += 1
    bot.resumed.extend(tasks)
    await asyncio.to_thread(book.prune, now)
    if again or rerun or late:
        log.info("telegram_resumed", replies=again, commands=rerun, too_late=len(late))
    return again, rerun, len(late)


__all__ = [
    "PROPOSAL_GONE",
    "TOO_LATE",
    "KeepingQueue",
    "book_for",
    "handled",
    "keeps",
    "received",
    "record_reply",
    "resume",
    "send_answer",
    "write_owed",
]

"""Where and how often the bot answers: private chats only for account commands, one notice
per rate-limit window, a button's outcome kept for every later tap, and the operator chat
checked at start.

- **Groups.** An investor's equity, positions and proposals are theirs alone, so in a group
  every command except an operator's own answers with one line pointing to the private chat;
  plain text and unknown commands there are ignored (groups hold other bots and people).
- **Over the rate limit.** The first message over the limit is told to slow down; the rest in
  the same window are dropped silently, so a flood gets one answer, not one per message.
- **Buttons.** A confirm acts once. Its outcome ("Order placed…", "Not placed: …") is kept by
  the proposal's token for :data:`~rampart.telegram.bounded.OUTCOME_KEEP_MS`, so a double
  tap, or a tap on an old copy, shows that outcome instead of overwriting it. Editing a
  message to the text it already has is refused by Telegram ("message is not modified"):
  that is never an error for the user.
- **Deleting.** A pasted key is deleted at once; "message to delete not found" means the investor
  deleted it first, which is not a failure.
- **Operator chat.** Telegram refuses to write to a private chat that never wrote to the bot
  (403), so alerts to ``telegram.operator_chat_id`` would fail silently until the operator
  sends /start. :func:`check_operator_chat` asks ``getChat`` at start and says so. The health
  check "operator chat" is not required for readiness (trading does not depend on it: the
  service is *degraded*), and while it fails it asks again less and less often — after
  :data:`RECHECK_FIRST_S`, doubling up to :data:`RECHECK_MAX_S` — instead of every heartbeat;
  any message from that chat makes the next check ask at once.
"""

from __future__ import annotations

import re
from html import unescape
from typing import TYPE_CHECKING

import structlog
from telegram import CallbackQuery, InlineKeyboardMarkup, Message, Update
from telegram.constants import ChatType, ParseMode
from telegram.error import BadRequest, TelegramError

from rampart.runtime.backoff import ceiling_s
from rampart.runtime.health import Check
from rampart.telegram.bot_api import MONEY
from rampart.telegram.text import OPERATOR_HELP

if TYPE_CHECKING:
    from rampart.telegram.bot_view import BotView

log = structlog.get_logger("rampart.telegram")

OPERATOR_COMMANDS = frozenset(name for name, _ in OPERATOR_HELP)
"""Commands an operator may also run in a group (the operator chat may be one)."""
ANSWER_LIMIT = 200
"""Telegram shows at most 200 characters of a callback answer."""
RECHECK_FIRST_S = 10.0
"""The first getChat after a failed one waits this long; each next one twice as long…"""
RECHECK_MAX_S = 300.0
"""… up to five minutes apart."""

NOT_YOURS = "This is not your proposal; nothing was changed."
EXPIRED = "That button has expired; send the command again."
EDITED = "I don't run edited messages again; send the command as a new message."


def is_private(update: Update) -> bool:
    chat = update.effective_chat
    return chat is not None and chat.type == ChatType.PRIVATE


def allowed_in_group(name: str, operator: bool) -> bool:
    """Whether command ``name`` from this sender may be answered in a group."""
    return operator and name in OPERATOR_COMMANDS


def group_pointer(username: str | None) -> str:
    where = f"t.me/{username}" if username else "a private chat with me"
    return f"Send me this in a private chat: {where}"


def plain(html: str) -> str:
    """Telegram HTML as the plain text a callback answer shows, cut to Telegram's limit."""
    text = unescape(re.sub(r"<[^>]+>", "", html))
    return text if len(text) <= ANSWER_LIMIT else text[: ANSWER_LIMIT - 1] + "…"


def not_modified(exc: TelegramError) -> bool:
    """Telegram's refusal to edit a message into what it already shows."""
    return isinstance(exc, BadRequest) and "message is not modified" in exc.message.lower()


async def delete(message: Message) -> None:
    """Delete ``message`` from the chat; Telegram's "message to delete not found" means someone
    (the investor, pasting a key) deleted it first, and gone is all deleting is for."""
    try:
        await message.delete()
    except BadRequest as exc:
        if "message to delete not found" not in exc.message.lower():
            raise


async def edit(query: CallbackQuery, html: str, markup: InlineKeyboardMarkup | None = None) -> None:
    """Show ``html`` on the button's message; already showing it is fine."""
    try:
        await query.edit_message_text(html, parse_mode=ParseMode.HTML, reply_markup=markup)
    except BadRequest as exc:
        if not not_modified(exc):
            raise


async def settle(bot: BotView, update: Update, token: str, html: str) -> None:
    """A proposal came to ``html``: keep it for later taps, then show it on the message, its
    buttons gone. The edit waits its turn at the pacer (a 429 is waited out there); should it
    still fail, the outcome goes as a new message — never an apology saying nothing changed
    when something did."""
    query = update.callback_query
    user = update.effective_user
    if query is None or user is None:
        return
    bot.outcomes.keep(token, user.id, html)
    bot.acted.add(update.update_id)
    try:
        await edit(query, html)
    except TelegramError as exc:
        log.warning("telegram_outcome_edit_failed", telegram_id=user.id, error=str(exc)[:200])
        await bot.reply(update, html, lane=MONEY)


async def answer_again(bot: BotView, update: Update, token: str, user_id: int) -> bool:
    """True when ``token``'s proposal already acted: the tap is answered with its outcome
    (the owner's) or "not yours" (anyone else's), and the message shows the outcome."""
    done = bot.outcomes.get(token) if token else None
    if done is None:
        return False
    if done.owner != user_id:
        await bot.answer_button(update, NOT_YOURS)
        return True
    query = update.callback_query
    if query is not None:
        await edit(query, done.html)
    await bot.answer_button(update, done.html)
    return True


# -- the operator chat ----------------------------------------------------------------------


async def check_operator_chat(bot: BotView, *, warn: bool = True) -> str | None:
    """None when the operator chat can be written to, else why not (logged as a warning
    unless ``warn`` is False: the health probe asks again every heartbeat)."""
    chat_id = bot.settings.telegram.operator_chat_id
    if chat_id is None:
        return "no operator chat is set (telegram.operator_chat_id), so alerts go nowhere"
    try:
        await bot.app.bot.get_chat(chat_id)
    except TelegramError as exc:
        problem = (
            f"the operator chat {chat_id} cannot be reached ({exc.message}); alerts will not "
            "arrive until the operator opens the bot in Telegram and sends /start (for a group: "
            "adds the bot to it)"
        )
        if warn:
            log.warning("telegram_operator_chat_unreachable", chat_id=chat_id, why=problem)
        return problem
    return None


class OperatorChatProbe:
    """The health check "operator chat": the start's verdict, asked again while it fails, with
    a growing pause between the asks (on the bot's pace clock)."""

    def __init__(self, bot: BotView, first: str | None) -> None:
        self.bot = bot
        self.problem = first
        self.failures = 0 if first is None else 1
        self.next_ms = self._after(bot.pace.now_ms())

    def _after(self, now: int) -> int:
        if self.failures == 0:
            return now
        return now + int(ceiling_s(self.failures - 1, RECHECK_FIRST_S, RECHECK_MAX_S) * 1000)

    def heard_from(self) -> None:
        """A message came from the operator chat: Telegram will take ours now; ask next time."""
        if self.problem is not None:
            self.next_ms = 0

    async def __call__(self) -> Check:
        now = self.bot.pace.now_ms()
        if self.problem is not None and now >= self.next_ms:
            self.problem = await check_operator_chat(self.bot, warn=False)
            self.failures = 0 if self.problem is None else self.failures + 1
            self.next_ms = self._after(now)
        if self.problem is None:
            chat = self.bot.settings.telegram.operator_chat_id
            return Check("operator chat", True, f"alerts reach chat {chat}", required=False)
        return Check("operator chat", False, self.problem, required=False)

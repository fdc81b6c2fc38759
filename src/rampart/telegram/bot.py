"""The Telegram bot: python-telegram-bot inside the service, by long polling or a webhook
(:mod:`rampart.telegram.webhook`).

``build_bot(...)`` returns a :class:`RampartBot` whose ``async run(stop, beat)`` the service
supervises as component ``bot``. Every command goes through :meth:`RampartBot.guard`: the
sender's rate limit, then the handler, and any :class:`RampartError` becomes its sentence as the
reply, any other failure a plain apology (logged, never shown). Investor commands live in
:mod:`rampart.telegram.investor_cmds`, operator commands in :mod:`rampart.telegram.operator_cmds`.

Everything the bot sends goes through one limiter, :class:`rampart.telegram.pacer.Pacer`, on the
pace clock. A reply is queued and the handler goes on (:meth:`RampartBot.reply` does not wait
for Telegram), so one investor's answers waiting their turn never hold up another's command;
an update counts as handled (``processed``) once its answers were sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import structlog
from telegram import (
    BotCommand,
    BotCommandScopeChat,
    BotCommandScopeDefault,
    InlineKeyboardMarkup,
    Update,
)
from telegram.error import TelegramError
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    TypeHandler,
    filters,
)

from rampart.clock import Clock, WallClock, show_times_of
from rampart.domain.errors import ConfigError, RampartError, present
from rampart.observability.logging import RedactFilter
from rampart.observability.notify import CallbackNotifier, Notice, NotifyError
from rampart.operator.keycheck import KeyChecker, ccxt_key_checker
from rampart.rollout.enforce import recheck
from rampart.runtime.ratelimit import RateLimiter
from rampart.security.secrets import KeyBox, key_configured, load_key_box
from rampart.telegram import (
    chats,
    durable,
    investor_cmds,
    messenger,
    routes,
)
from rampart.telegram.bot_api import MONEY, REPLY
from rampart.telegram.bounded import Outcomes, Throttle
from rampart.telegram.pacer import Pacer
from rampart.telegram.sequencer import ChatSequencer
from rampart.telegram.settings import BotSettings
from rampart.telegram.text import (
    ACTING,
    INVESTOR_HELP,
    OPERATOR_HELP,
    SORRY,
    SORRY_AFTER,
    TOO_FAST,
    clip_words,
    plain_escape,
)
from rampart.telegram.webhook import WebhookServer

if TYPE_CHECKING:
    from rampart.notices.notify_prefs import NotifyPrefs
    from rampart.notices.outbox import Outbox
    from rampart.operator.control import Operator
    from rampart.runtime.health import Health

log = structlog.get_logger("rampart.telegram")

MAX_USERS = 10_000
"""Users whose command budget the bot remembers; the least recently seen is forgotten first."""


class RateLimited(RampartError):
    """Too many commands from one user in a minute."""


class RampartBot:
    def __init__(
        self,
        settings: BotSettings,
        operator: Operator,
        lock: asyncio.Lock,
        application: Application[Any, Any, Any, Any, Any, Any],
        *,
        clock: Clock,
        key_box: KeyBox | None,
        check_key: KeyChecker,
        health: Health | None = None,
        pace: Clock | None = None,
    ) -> None:
        self.settings: BotSettings = settings
        self.operator = operator
        """The facade every command goes through (never the trading session behind it)."""
        self.lock = lock
        self.app = application
        self.clock = clock
        """The service's business clock: what records, intents and reports are stamped with."""
        show_times_of(clock)  # on a simulated feed, people read wall times
        self.key_box = key_box
        self.desk = operator.investor_desk(settings, key_box, recheck)
        """The investor actions (connect, invest, profile…) on the operator facade."""
        self.check_key = check_key
        self.health = health
        self.notify_prefs: NotifyPrefs | None = None
        self.outbox: Outbox | None = None
        """Investor notices (set by the service's wiring; /notify and /incident_eta use them)."""
        self.operator_ids = frozenset(settings.telegram.operator_ids)
        # A person's pace is wall time, whatever the feed's speed.
        self.pace = pace or clock
        self.limiter = RateLimiter(self.pace, settings.telegram.rate_per_minute, max_keys=MAX_USERS)
        self.throttle = Throttle(self.limiter, self.pace)
        """The limiter plus one "too fast" answer per user and window (the rest dropped)."""
        self.outcomes = Outcomes(self.pace)
        """What each confirmed or canceled proposal came to, for later taps of its buttons."""
        self._answered: set[str] = set()
        """Callback queries answered with a notice (Telegram takes one answer per query)."""
        self.operator_chat_problem: str | None = None
        """Why alerts cannot reach the operator chat (checked at start), or None."""
        self.pending: dict[int, dict[str, Any]] = {}
        """Conversation state per user (the /connect steps)."""
        self.proposals: dict[str, tuple[int, Any]] = {}
        """Open /vibe proposals and /close confirmations: token → (user id, what)."""
        self.processed = 0
        """Updates fully handled, their answers sent (tests wait on it; it shows the bot lives)."""
        self.pacer: Pacer | None = (
            application.bot.rate_limiter
            if isinstance(application.bot.rate_limiter, Pacer)
            else None
        )
        """The one limiter every message goes through (None only for a bot built without)."""
        self.book = durable.book_for(self)
        """Commands and replies kept across restarts (None without a store)."""
        self.acted: set[int] = set()
        """Updates being handled whose proposal was acted on (see :data:`SORRY_AFTER`)."""
        self.pruned_at = 0
        self.kept: set[int] = set()
        """Updates whose command is in the book (their replies are written there too)."""
        self.resumed: list[asyncio.Task[None]] = []
        """Answers the start sent again (:func:`rampart.telegram.durable.resume`)."""
        self._answers: dict[int, list[asyncio.Task[None]]] = {}
        """Update id → its answers still being sent."""
        self._chat_probe: chats.OperatorChatProbe | None = None
        self.webhook = (
            WebhookServer(application, settings.telegram)
            if settings.telegram.mode == "webhook"
            else None
        )
        """Webhook mode's server (telegram.mode: webhook); None when long polling."""
        self._register()

    # -- wiring -------------------------------------------------------------------------------

    def _register(self) -> None:
        app = self.app
        # New messages only: an edited "/invest 12000" must not run (and move money) again.
        new = filters.UpdateType.MESSAGE
        for name, handler in routes.commands().items():
            app.add_handler(CommandHandler(name, routes.wrap(self, name, handler), filters=new))
        app.add_handler(CallbackQueryHandler(self._on_button))
        app.add_handler(
            MessageHandler(
                filters.TEXT & ~filters.COMMAND & new, routes.wrap(self, "text", routes.on_text)
            )
        )
        app.add_handler(
            MessageHandler(filters.COMMAND & new, routes.wrap(self, "unknown", routes.unknown))
        )
        app.add_handler(
            MessageHandler(
                filters.UpdateType.EDITED_MESSAGE & filters.COMMAND & filters.ChatType.PRIVATE,
                routes.wrap(self, "edited", routes.edited),
            )
        )
        app.add_handler(TypeHandler(Update, self._received), group=-1)
        app.add_handler(TypeHandler(Update, self._done), group=1)
        app.add_error_handler(self._on_error)

    async def guard(self, name: str, update: Update, work: Callable[[], Awaitable[None]]) -> None:
        user = update.effective_user
        if user is None:
            return
        try:
            pace = self.throttle.take(user.id)
            if pace == "drop":
                return  # told once in this window already; a flood gets one answer
            if pace == "tell":
                raise RateLimited(TOO_FAST)
            await work()
        except RampartError as exc:
            await self.reply(update, plain_escape(clip_words(exc.message)))
        except TelegramError as exc:
            if chats.not_modified(exc):
                return  # the message already shows it: nothing for the user to hear
            log.warning(
                "telegram_command_failed", command=name, telegram_id=user.id, error=exc.message
            )
            await self.reply(update, self._sorry(name, update))
        except Exception:
            # Never shown: a traceback can carry what a user typed (a key) or internals.
            log.exception("telegram_command_failed", command=name, telegram_id=user.id)
            await self.reply(update, self._sorry(name, update))
        finally:
            self.acted.discard(update.update_id)

    def _sorry(self, name: str, update: Update) -> str:
        return SORRY_AFTER if name in ACTING or update.update_id in self.acted else SORRY

    async def _on_button(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        del context
        query = update.callback_query
        if query is None:
            return
        try:
            await self.guard(
                "button", update, lambda: investor_cmds.on_button(self, update, query.data or "")
            )
        finally:
            # Telegram takes one answer per query: a notice given by the handler, else none.
            if query.id in self._answered:
                self._answered.discard(query.id)
            else:
                await query.answer()

    async def answer_button(self, update: Update, html: str) -> None:
        """Answer the tap with a short notice (shown over the chat; nothing is edited)."""
        query = present(update.callback_query, "the button's callback query")
        await query.answer(chats.plain(html))
        self._answered.add(query.id)

    async def _received(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        del context
        await durable.received(self, update)

    async def _done(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        del context
        await durable.handled(self, update)
        chat = update.effective_chat
        operator_chat = self.settings.telegram.operator_chat_id
        if chat is not None and chat.id == operator_chat and self._chat_probe is not None:
            self._chat_probe.heard_from()
        answers = self._answers.pop(update.update_id, [])
        if not answers:
            self.processed += 1
            return
        # Counted once its answers are sent (or failed), without holding up the next update.
        asyncio.gather(*answers, return_exceptions=True).add_done_callback(self._count)

    def _count(self, _: object) -> None:
        self.processed += 1

    async def _on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        del update
        if context.error is not None:
            log.warning("telegram_error", error=type(context.error).__name__)

    # -- helpers for the command modules ------------------------------------------------------

    def is_operator(self, user_id: int) -> bool:
        return user_id in self.operator_ids

    async def reply(
        self,
        update: Update,
        text: str,
        markup: InlineKeyboardMarkup | None = None,
        *,
        lane: str = REPLY,
    ) -> None:
        """Queue ``text`` for the update's chat and return: the limiter sends it in its turn,
        in pieces under Telegram's 4,096 characters cut at line ends (buttons on the last)."""
        chat = update.effective_chat
        if chat is None:
            return
        pieces = messenger.split_text(text)
        for n, piece in enumerate(pieces):
            keys = markup if n == len(pieces) - 1 else None
            # Written before it is queued: a stop before it went leaves it for the next start.
            kept = await durable.record_reply(self, update, chat.id, piece, keys, lane)
            # Tasks start in the order made, so the pieces join the limiter's queue in order.
            task = asyncio.create_task(durable.send_answer(self, chat.id, piece, keys, lane, kept))
            self._answers.setdefault(update.update_id, []).append(task)

    async def send_to_operator(self, notice: Notice) -> None:
        chat = self.settings.telegram.operator_chat_id
        if chat is None:
            raise NotifyError("No operator chat is set (telegram.operator_chat_id).")
        # An alert goes in the money lane: before replies and reports.
        await messenger.send_text(self, chat, plain_escape(notice.text()), lane=MONEY)

    def notifier(self) -> CallbackNotifier:
        """Alert notices to the operator chat (plug into the alert engine's FanOut)."""
        return CallbackNotifier(self.send_to_operator, name="telegram")

    # -- the Messenger port (rampart.runtime.messaging) -------------------------------------------

    async def tell_account(self, account_id: str, html: str) -> bool:
        """Telegram-HTML text to the investor who owns ``account_id``; False when none."""
        return await messenger.tell_account(self, account_id, html)

    async def tell_operators(self, html: str, attachments: Sequence[Path] = ()) -> bool:
        """Text, then PNGs as photos and other files as documents, to the operator chat."""
        return await messenger.tell_operators(self, html, attachments)

    async def deliver(self, account_id: str, html: str) -> bool:
        """A queued notice (rampart.runtime.messaging.Deliverer): raises SendLater on a 429."""
        return await messenger.deliver(self, account_id, html)

    # -- running ------------------------------------------------------------------------------

    async def _set_commands(self) -> None:
        """Investors' menu for everyone; each operator's own chat also lists operator commands.

        A chat scope needs a chat the bot knows: an operator who never wrote to it gets the
        investors' menu until the next start (logged)."""
        investors = [BotCommand(c, d[:256]) for c, d in INVESTOR_HELP]
        # /daily is in both lists (an investor's days, an operator's report): once in a menu.
        mine = {c for c, _ in INVESTOR_HELP}
        operators = investors + [BotCommand(c, d[:256]) for c, d in OPERATOR_HELP if c not in mine]
        await self.app.bot.set_my_commands(investors, scope=BotCommandScopeDefault())
        for operator_id in sorted(self.operator_ids):
            try:
                await self.app.bot.set_my_commands(
                    operators, scope=BotCommandScopeChat(operator_id)
                )
            except TelegramError as exc:
                log.warning(
                    "telegram_operator_menu_not_set", telegram_id=operator_id, why=exc.message
                )

    async def run(self, stop: asyncio.Event, beat: Callable[[], None]) -> None:
        # httpx logs request URLs, and a bot API URL carries the token.
        httpx_log = logging.getLogger("httpx")
        httpx_log.setLevel(logging.WARNING)
        httpx_log.addFilter(RedactFilter())
        app = self.app
        await app.initialize()
        try:
            self.operator_chat_problem = await chats.check_operator_chat(self)
            self._chat_probe = chats.OperatorChatProbe(self, self.operator_chat_problem)
            if self.health is not None:
                # Alerts that cannot reach a chat degrade the service; they do not stop trading.
                self.health.add("operator chat", self._chat_probe, required=False)
            await self._set_commands()
            # What the last run left: replies unsent, commands unanswered.
            await durable.resume(self)
            if self.webhook is not None:
                await self.webhook.start()
            else:
                updater = present(app.updater, "the bot's updater (built without a webhook)")
                await updater.start_polling(
                    poll_interval=0.0, timeout=int(self.settings.telegram.poll_timeout_s)
                )
            await app.start()
            log.info("telegram_bot_started")
            every = self.settings.ops.heartbeat_every_s
            while not stop.is_set():
                beat()
                await durable.write_owed(self)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=every)
        finally:
            if self.webhook is not None:
                await self.webhook.stop()
            if app.updater is not None and app.updater.running:
                await app.updater.stop()
            if app.running:
                await app.stop()
            await app.shutdown()
            await durable.write_owed(self)


def build_bot(
    settings: BotSettings,
    operator: Operator,
    lock: asyncio.Lock,
    *,
    clock: Clock | None = None,
    pace: Clock | None = None,
    base_url: str | None = None,
    check_key: KeyChecker | None = None,
    health: Health | None = None,
) -> RampartBot:
    """The bot for ``settings.telegram_token``; ``base_url`` points it at another Bot API
    server (a local stand-in in tests). ``check_key`` proves an exchange key with a balance
    fetch (by default through ccxt, at ``venue.api_url`` when set)."""
    if settings.telegram_token is None:
        raise ConfigError("Set telegram_token (RAMPART_TELEGRAM_TOKEN) to run the bot.")
    clock = clock or WallClock()
    # Telegram's flood limits run on wall time whatever the feed's speed: the pace clock.
    builder = (
        ApplicationBuilder()
        .token(settings.telegram_token.get_secret_value())
        .rate_limiter(Pacer(pace or clock))
        .update_queue(durable.KeepingQueue())
        .concurrent_updates(ChatSequencer())  # chats at once, each chat's updates in order
    )
    if base_url is not None:
        builder = builder.base_url(f"{base_url}/bot").base_file_url(f"{base_url}/file/bot")
    application = builder.build()
    key_box = (
        load_key_box(settings.master_key, settings.vault)
        if key_configured(settings.master_key, settings.vault)
        else None
    )
    return RampartBot(
        settings,
        operator,
        lock,
        application,
        clock=clock,
        pace=pace,
        key_box=key_box,
        check_key=check_key or ccxt_key_checker(settings.venue, settings.mode),
        health=health,
    )

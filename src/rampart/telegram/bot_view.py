"""The bot as its command modules see it: :class:`BotView`, what a handler reads and asks of
:class:`rampart.telegram.bot.RampartBot`, and :data:`Handler`, a command's handler. The bot
imports the command modules to register them; they read this module, below both, so the
bot's files form no circle."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from telegram import InlineKeyboardMarkup, Update

from rampart.telegram.bot_api import REPLY

if TYPE_CHECKING:
    from telegram.ext import Application

    from rampart.clock import Clock
    from rampart.notices.command_book import CommandBook
    from rampart.notices.notify_prefs import NotifyPrefs
    from rampart.notices.outbox import Outbox
    from rampart.operator.control import Operator
    from rampart.operator.desk import InvestorDesk
    from rampart.operator.keycheck import KeyChecker
    from rampart.runtime.health import Health
    from rampart.telegram.bounded import Outcomes
    from rampart.telegram.pacer import Pacer
    from rampart.telegram.settings import BotSettings


class BotView(Protocol):
    """What a command module reads and asks of the bot: its settings and clocks, the operator
        facade and investor desk, what it keeps across updates, and how a reply goes out (it is
    also a :class:`rampart.runtime.messaging.Messenger`)."""

    processed: int
    """Updates fully handled, their answers sent."""
    pruned_at: int
    """When the command book was last pruned."""
    notify_prefs: NotifyPrefs | None

    @property
    def settings(self) -> BotSettings: ...

    @property
    def operator(self) -> Operator: ...

    @property
    def desk(self) -> InvestorDesk: ...

    @property
    def app(self) -> Application[Any, Any, Any, Any, Any, Any]: ...

    @property
    def clock(self) -> Clock: ...

    @property
    def pace(self) -> Clock: ...

    @property
    def pacer(self) -> Pacer | None: ...

    @property
    def health(self) -> Health | None: ...

    @property
    def outbox(self) -> Outbox | None: ...

    @property
    def check_key(self) -> KeyChecker: ...

    @property
    def book(self) -> CommandBook | None: ...

    @property
    def kept(self) -> set[int]: ...

    @property
    def acted(self) -> set[int]: ...

    @property
    def resumed(self) -> list[asyncio.Task[None]]: ...

    @property
    def pending(self) -> dict[int, dict[str, Any]]: ...

    @property
    def proposals(self) -> dict[str, tuple[int, Any]]: ...

    @property
    def outcomes(self) -> Outcomes: ...

    def is_operator(self, user_id: int) -> bool: ...

    async def guard(
        self, name: str, update: Update, work: Callable[[], Awaitable[None]]
    ) -> None: ...

    async def reply(
        self,
        update: Update,
        text: str,
        markup: InlineKeyboardMarkup | None = None,
        *,
        lane: str = REPLY,
    ) -> None: ...

    async def answer_button(self, update: Update, html: str) -> None: ...

    async def tell_account(self, account_id: str, html: str) -> bool: ...

    async def tell_operators(self, html: str, attachments: Sequence[Path] = ()) -> bool: ...


Handler = Callable[[BotView, Update, list[str]], Awaitable[None]]
"""A command's handler: the bot, the update, the command's words after its name."""

__all__ = ["BotView", "Handler"]

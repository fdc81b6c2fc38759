"""Which handler answers what the bot receives: each command's, a plain message's (the key a
``/connect`` waits for), an unknown command's and an edited one's, and the checks every one
passes first (:func:`wrap`: a key typed on the ``/connect`` line deleted, groups shown no
account, over-long arguments refused unread)."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any

from telegram import Update
from telegram.ext import ContextTypes

from rampart.telegram import (
    chats,
    connect_cmds,
    habit_cmds,
    investor_cmds,
    models_cmds,
    notify_cmds,
    operator_cmds,
    people_cmds,
    profit_cmds,
    report_cmds,
    rollout_cmds,
    terms_cmds,
)
from rampart.telegram.text import MAX_ARGS_CHARS, TOO_LONG, unknown_command

if TYPE_CHECKING:
    from rampart.telegram.bot_view import BotView, Handler


def commands() -> dict[str, Handler]:
    """Every command's handler by name, in the order they are registered."""
    return {
        **investor_cmds.COMMANDS,
        **operator_cmds.COMMANDS,
        **rollout_cmds.COMMANDS,
        **report_cmds.COMMANDS,
        **profit_cmds.COMMANDS,
        **models_cmds.COMMANDS,
        **notify_cmds.COMMANDS,
        **people_cmds.COMMANDS,
        "terms": terms_cmds.terms,
        # Last: /status is the service's for an operator, an investor's own positions else.
        **habit_cmds.COMMANDS,
    }


def wrap(
    bot: BotView, name: str, handler: Handler
) -> Callable[[Update, ContextTypes.DEFAULT_TYPE], Coroutine[Any, Any, None]]:
    async def run(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        args = list(context.args or [])
        if name == "connect" and args:
            # A key typed on the /connect line: deleted before anything else is done.
            await bot.guard(name, update, lambda: connect_cmds.connect(bot, update, args))
            return
        if not chats.is_private(update):
            # An account's figures and proposals are never posted to a group.
            user = update.effective_user
            if name in ("text", "unknown", "edited") or user is None:
                return
            if not chats.allowed_in_group(name, bot.is_operator(user.id)):
                pointer = chats.group_pointer(bot.app.bot.username)
                await bot.guard(name, update, lambda: bot.reply(update, pointer))
                return
        # What a person writes to the team (/support…) is the facade's to limit.
        written = name in people_cmds.WRITTEN
        if not written and sum(len(a) + 1 for a in args) > MAX_ARGS_CHARS:
            # Never read, never echoed: an answer quoting it would be too long to send.
            await bot.guard(name, update, lambda: bot.reply(update, TOO_LONG.format(name=name)))
            return
        await bot.guard(name, update, lambda: handler(bot, update, args))

    return run


async def on_text(bot: BotView, update: Update, args: list[str]) -> None:
    del args
    await connect_cmds.on_text(bot, update)


async def edited(bot: BotView, update: Update, args: list[str]) -> None:
    del args
    await bot.reply(update, chats.EDITED)


async def unknown(bot: BotView, update: Update, args: list[str]) -> None:
    del args
    user = update.effective_user
    sent = update.effective_message.text if update.effective_message else ""
    operator = user is not None and bot.is_operator(user.id)
    await bot.reply(update, unknown_command(sent or "", operator))

"""Who is asking: the sender of an update, their investor record and their running account,
as every investor command resolves them (so no command can reach anyone else's account), and
starting that account inside the rollout stage."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import TYPE_CHECKING

from telegram import Update

from rampart.domain.errors import RampartError, present
from rampart.operator import capital as changes
from rampart.operator import routing
from rampart.operator.accounts import quote_of
from rampart.operator.investors import Investor

if TYPE_CHECKING:
    from rampart.operator.names import AccountRuntime
    from rampart.telegram.bot_view import BotView


def sender_id(update: Update) -> int:
    return present(update.effective_user, "the sender (the router passes user messages)").id


async def sender_investor(bot: BotView, update: Update) -> Investor:
    found = await bot.operator.investors.load(sender_id(update))
    if found is None or not found.accepted_disclaimer:
        raise RampartError("Send /start first and accept the risk disclaimer.")
    return found


def running_account(bot: BotView, inv: Investor) -> AccountRuntime | None:
    return bot.desk.running(inv.account_id)


async def sender_account(bot: BotView, update: Update) -> tuple[Investor, AccountRuntime]:
    inv = await sender_investor(bot, update)
    acct = running_account(bot, inv)
    if acct is None:
        if routing.exchange_backed(bot.settings):
            exchange = routing.venue_name(bot.settings)
            raise RampartError(
                f"You have no account trading yet: /connect {exchange}, then /invest AMOUNT."
            )
        raise RampartError(
            "You have no account trading yet: /connect paper, then /invest AMOUNT (or try /demo)."
        )
    return inv, acct


def stage_check(bot: BotView) -> Callable[[Decimal, str], str | None]:
    stage = bot.desk.stage
    quote = quote_asset(bot)

    def check(amount: Decimal, profile: str) -> str | None:
        refusal = changes.stage_capital_refusal(stage, amount, quote)
        return refusal or changes.stage_profile_refusal(stage, profile)

    return check


async def start_account(bot: BotView, inv: Investor) -> Investor:
    """Start ``inv``'s account; returns it with the capital it started with. On an
    exchange-backed service that is their own key's balance (see :mod:`routing`)."""
    return await bot.desk.start_account(inv, stage_check(bot))


def quote_asset(bot: BotView) -> str:
    return quote_of(bot.settings.feed.symbols)

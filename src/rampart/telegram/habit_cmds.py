"""What a Freqtrade user types first, answered for their own account: ``/status`` (open
positions), ``/performance`` (realised PnL per symbol) and ``/count`` (open positions against
the profile's maximum).

An operator's ``/status`` stays the service's (:func:`rampart.telegram.operator_cmds.status`,
audited as every operator command is); an investor's is their positions, never "for operators
only". Figures come from the operator facade's views
(:class:`rampart.operator.views.InvestorViews`), as ``/portfolio`` and the HTTP API's do.
"""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING

from telegram import Update

from rampart.domain.errors import RampartError
from rampart.telegram import operator_cmds
from rampart.telegram.portfolio_view import position_line
from rampart.telegram.sender import sender_account, sender_id
from rampart.telegram.text import signed, when

if TYPE_CHECKING:
    from rampart.telegram.bot_view import BotView, Handler

USAGE = {"status": "/status", "performance": "/performance", "count": "/count"}


def _no_args(command: str, args: list[str]) -> None:
    if args:
        raise RampartError(f"/{command} takes nothing after it. Usage: {USAGE[command]}")


async def status(bot: BotView, update: Update, args: list[str]) -> None:
    if bot.is_operator(sender_id(update)):
        await operator_cmds.COMMANDS["status"](bot, update, args)
        return
    _no_args("status", args)
    inv, acct = await sender_account(bot, update)
    positions = bot.operator.views.positions(inv.account_id)
    quote = acct.spec.quote
    if not positions:
        await bot.reply(update, "No open positions. /trades lists the closed ones.")
        return
    lines = [f"<b>Open positions</b> ({len(positions)})"]
    for pos in positions:
        lines.append(f"{position_line(pos, quote)} · since {when(pos.opened_at)} UTC")
    await bot.reply(update, "\n".join(lines))


async def performance(bot: BotView, update: Update, args: list[str]) -> None:
    _no_args("performance", args)
    inv, acct = await sender_account(bot, update)
    found = await bot.operator.views.performance(inv.account_id)
    if not found:
        await bot.reply(update, "No trades closed yet; /status shows the open ones.")
        return
    quote = acct.spec.quote
    lines = [f"<b>Performance</b> (realised, after fees, {escape(quote)})"]
    for n, p in enumerate(found, 1):
        trades = f"{p.trades} trade{'' if p.trades == 1 else 's'}"
        lines.append(
            f"{n}. <b>{escape(p.symbol)}</b> {signed(p.realized_pnl, quote)} ({trades}, "
            f"{p.wins} won)"
        )
    await bot.reply(update, "\n".join(lines))


async def count(bot: BotView, update: Update, args: list[str]) -> None:
    _no_args("count", args)
    inv, acct = await sender_account(bot, update)
    held = len(bot.operator.views.positions(inv.account_id))
    profile = acct.profile
    await bot.reply(
        update,
        f"Open positions: {held} of {profile.max_open}, the most your "
        f"<b>{escape(profile.name)}</b> profile holds at once.",
    )


COMMANDS: dict[str, Handler] = {"status": status, "performance": performance, "count": count}

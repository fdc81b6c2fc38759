"""``/report`` (an investor's own weekly summary) and ``/daily`` (the operator's daily report),
made from the store on request and stored like the scheduled ones."""

from __future__ import annotations

import asyncio
from datetime import date
from typing import TYPE_CHECKING

from telegram import Update

from rampart.domain.errors import RampartError, present
from rampart.reports.build import make_report
from rampart.reports.period import default_period, parse_date
from rampart.reports.telegram_html import to_telegram_html
from rampart.telegram import investors as inv_store
from rampart.telegram.operator_cmds import operator_only

if TYPE_CHECKING:
    from rampart.telegram.bot import Handler, RampartBot


def _day_arg(args: list[str], kind: str, now_ms: int) -> date:
    if args:
        return parse_date(args[0])
    return default_period(kind, now_ms).first_day


async def report(bot: RampartBot, update: Update, args: list[str]) -> None:
    """Your own weekly summary: last week, or the week of /report YYYY-MM-DD."""
    user = present(update.effective_user, "the sender (the router passes user messages)")
    inv = await inv_store.load(bot.session.db, user.id)
    if inv is None or not inv.accepted_disclaimer:
        raise RampartError("Send /start first and accept the risk disclaimer.")
    now = bot.clock.now_ms()
    day = _day_arg(args, "weekly", now)
    await bot.operator.save_now()
    made = await asyncio.to_thread(
        make_report, bot.session.db, bot.settings, "weekly", day, now_ms=now, account=inv.account_id
    )
    for html in to_telegram_html(made.markdown):
        await bot.reply(update, html)


async def daily(bot: RampartBot, update: Update, args: list[str], actor: str) -> None:
    """Yesterday's daily report (or /daily YYYY-MM-DD; /daily today for today so far)."""
    del actor
    now = bot.clock.now_ms()
    if args and args[0].lower() == "today":
        from rampart.reports.period import ms_day

        day = ms_day(now)
    else:
        day = _day_arg(args, "daily", now)
    await bot.operator.save_now()
    made = await asyncio.to_thread(
        make_report, bot.session.db, bot.settings, "daily", day, now_ms=now
    )
    for html in to_telegram_html(made.markdown):
        await bot.reply(update, html)


COMMANDS: dict[str, Handler] = {"report": report, "daily": operator_only("daily", daily)}

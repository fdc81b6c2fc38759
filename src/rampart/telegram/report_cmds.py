"""``/report`` (an investor's own weekly summary) and ``/daily`` (the operator's daily report),
made from the store on request and stored like the scheduled ones."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from telegram import Update

from rampart.domain.errors import RampartError, present
from rampart.reports.period import default_period, ms_day, parse_date, period_for
from rampart.reports.telegram_html import to_telegram_html

if TYPE_CHECKING:
    from rampart.telegram.bot_view import BotView, Handler


def _day_arg(args: list[str], kind: str, now_ms: int) -> date:
    if args:
        return parse_date(args[0])
    return default_period(kind, now_ms).first_day


async def report(bot: BotView, update: Update, args: list[str]) -> None:
    """Your own weekly summary: last week, or the week of /report YYYY-MM-DD. Never a week
    that ended before your account began: a new investor is told when the first one comes."""
    user = present(update.effective_user, "the sender (the router passes user messages)")
    inv = await bot.operator.investors.load(user.id)
    if inv is None or not inv.accepted_disclaimer:
        raise RampartError("Send /start first and accept the risk disclaimer.")
    if len(args) > 1:
        raise RampartError("Usage: /report, or /report YYYY-MM-DD for the week holding that day.")
    if inv.account_id not in bot.operator.views.account_ids():
        raise RampartError(
            "You have no account trading yet, so there is nothing to report: /invest AMOUNT "
            "(or /demo) starts one, and its first weekly report follows the week it began."
        )
    now = bot.clock.now_ms()
    day = _day_arg(args, "weekly", now)
    began = await bot.operator.views.created_at(inv.account_id)
    asked = period_for("weekly", day)
    if asked.end <= began:
        first = period_for("weekly", ms_day(began))
        if args:
            raise RampartError(
                f"Your account began on {ms_day(began).isoformat()}, after the week of "
                f"{asked.label}; your first report covers {first.label}: send /report without a "
                "date to see when it comes."
            )
        raise RampartError(
            f"Your first weekly report will be on {ms_day(first.end).isoformat()}: it covers "
            f"your first week, {ms_day(began).isoformat()} to "
            f"{ms_day(first.end - 1).isoformat()}. Until then /profit, /daily and /trades show "
            "how your account is doing."
        )
    made = await bot.operator.make_report(bot.settings, "weekly", day, account=inv.account_id)
    for html in to_telegram_html(made.markdown):
        await bot.reply(update, html)


async def daily(bot: BotView, update: Update, args: list[str], actor: str) -> None:
    """Yesterday's daily report (or /daily YYYY-MM-DD; /daily today for today so far)."""
    del actor
    now = bot.clock.now_ms()
    today = bool(args) and args[0].lower() == "today"
    day = ms_day(now) if today else _day_arg(args, "daily", now)
    made = await bot.operator.make_report(bot.settings, "daily", day)
    for html in to_telegram_html(made.markdown):
        await bot.reply(update, html)


COMMANDS: dict[str, Handler] = {"report": report}
"""``/daily`` is registered by :mod:`rampart.telegram.profit_cmds`: an investor's own days, or
this module's :func:`daily` report for an operator."""

"""Freqtrade-style figures for an investor's own account: ``/profit``, ``/balance``,
``/trades [N]``, ``/daily [N]`` and ``/weekly [N]``.

Every figure comes from :class:`rampart.operator.views.InvestorViews`, the same calls the HTTP
API's ``/portfolio``, ``/positions``, ``/trades`` and ``/profit`` make, so the bot and the API
always agree, current to the last candle (trades the store has not saved yet included). Days
are business days (the orders' time), from the day the account began.

``/daily`` was the operator's daily report; it still is for an operator who gives no number
(``/daily``, ``/daily today``, ``/daily YYYY-MM-DD``), and ``/daily N`` is anyone's own days.
An investor's ``/daily today`` and ``/daily YYYY-MM-DD`` are their own business day (today so
far, or that day).
"""

from __future__ import annotations

from datetime import UTC, datetime
from html import escape
from typing import TYPE_CHECKING

from telegram import Update

from rampart.clock import shown_ms
from rampart.domain.errors import RampartError, present
from rampart.operator.profit import PeriodPnl
from rampart.operator.views import TradeView
from rampart.reports.period import ms_day, parse_date
from rampart.telegram import chats, report_cmds
from rampart.telegram.operator_cmds import operator_only
from rampart.telegram.sender import sender_account
from rampart.telegram.text import money, price, qty, signed, when

if TYPE_CHECKING:
    from rampart.telegram.bot_view import BotView, Handler

MAX_TRADES = 20
"""At most this many trades in one reply: each line is ~150 characters, a message 4,096."""
MAX_DAYS = 31
MAX_WEEKS = 12
USAGE = {
    "trades": f"Usage: /trades [N], the last N closed trades (1 to {MAX_TRADES}, default 10).",
    "daily": f"Usage: /daily [N], your profit on each of the last N days (1 to {MAX_DAYS}, "
    "default 7); /daily today or /daily YYYY-MM-DD for one day.",
    "weekly": f"Usage: /weekly [N], your profit in each of the last N weeks (1 to {MAX_WEEKS}, "
    "default 4).",
    "profit": "Usage: /profit (no arguments).",
    "balance": "Usage: /balance (no arguments).",
}


def count_arg(args: list[str], command: str, default: int, cap: int) -> int:
    """The optional N of ``/command N``: a whole number from 1; above ``cap`` it is ``cap``.
    Anything else (a word, a sign, a fraction, more than one argument) is refused with the
    command's usage line."""
    if not args:
        return default
    if len(args) > 1 or not args[0].isascii() or not args[0].isdigit() or int(args[0]) < 1:
        # The guard escapes the sentence for Telegram's HTML.
        shown = " ".join(args)[:40]
        raise RampartError(f"'{shown}' is not a number of {_unit(command)}. {USAGE[command]}")
    return min(int(args[0]), cap)


def _unit(command: str) -> str:
    return {"trades": "trades", "daily": "days", "weekly": "weeks"}[command]


def _no_args(args: list[str], command: str) -> None:
    if args:
        raise RampartError(f"/{command} takes no arguments. {USAGE[command]}")


def _day(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).date().isoformat()


def _trade_line(t: TradeView, quote: str) -> str:
    return (
        f"<code>{escape(t.trade_id)}</code> {when(t.closed_at)} <b>{escape(t.symbol)}</b> "
        f"{qty(t.qty)} {price(t.entry_price)}→{price(t.exit_price)} {signed(t.pnl, quote)} · "
        f"{escape(t.exit_cause)}"
    )


def _return(fraction: object) -> str:
    """A time-weighted return, signed: ``+1.23 %`` (``—`` with nothing to measure yet)."""
    return "—" if fraction is None else f"{float(str(fraction)) * 100:+.2f} %"


def _share(fraction: object) -> str:
    return f"{float(str(fraction)) * 100:.1f}%"


async def profit(bot: BotView, update: Update, args: list[str]) -> None:
    """Realised PnL today / this week / all time, unrealised PnL, win rate, best and worst."""
    _no_args(args, "profit")
    inv, _ = await sender_account(bot, update)
    p = await bot.operator.views.profit(inv.account_id)
    q = p.quote
    lines = [
        f"<b>Profit</b> ({escape(q)}, as of {when(p.as_of)} UTC)",
        f"Realised today {signed(p.realized_today, q)} · this week "
        f"{signed(p.realized_week, q)} · all time {signed(p.realized_all, q)}",
        f"Unrealised (open positions) {signed(p.unrealized_pnl, q)}",
        f"Return, net of deposits and withdrawals: today {_return(p.return_today)} · this "
        f"week {_return(p.return_week)} · all time {_return(p.return_all)}",
    ]
    if p.trades == 0 or p.win_rate is None:
        lines.append("No trades closed yet.")
    else:
        lines.append(
            f"Trades closed {p.trades}: {p.wins} won, {p.losses} lost · win rate "
            f"{_share(p.win_rate)} · fees {money(p.fees, q)}"
        )
        best, worst = present(p.best, "best trade"), present(p.worst, "worst trade")
        lines.append(f"Best: {_trade_summary(best, q)}")
        lines.append(f"Worst: {_trade_summary(worst, q)}")
    await bot.reply(update, "\n".join(lines))


def _trade_summary(t: TradeView, quote: str) -> str:
    return (
        f"{escape(t.symbol)} {signed(t.pnl, quote)} ({escape(t.exit_cause)}, "
        f"{when(t.closed_at)}, <code>{escape(t.trade_id)}</code>)"
    )


async def balance(bot: BotView, update: Update, args: list[str]) -> None:
    """Cash, each position's value at the last price, and equity, in the account's currency."""
    _no_args(args, "balance")
    inv, _ = await sender_account(bot, update)
    views = bot.operator.views
    p = await views.portfolio(inv.account_id)
    positions = views.positions(inv.account_id)
    q = p.quote
    lines = [f"<b>Balance</b> ({escape(q)})", f"Cash {money(p.cash, q)}"]
    lines.append(f"Positions {money(p.positions_value, q)}")
    for pos in positions:
        lines.append(
            f"  {escape(pos.symbol)} {qty(pos.qty)} × {price(pos.mark)} = "
            f"{money(pos.market_value, q)}"
        )
    lines.append(f"<b>Equity {money(p.equity, q)}</b>")
    await bot.reply(update, "\n".join(lines))


async def trades(bot: BotView, update: Update, args: list[str]) -> None:
    """The last N closed trades with their ids and who or what closed them."""
    n = count_arg(args, "trades", 10, MAX_TRADES)
    inv, acct = await sender_account(bot, update)
    found = await bot.operator.views.trades(inv.account_id, limit=n)
    if not found:
        await bot.reply(update, "No closed trades yet.")
        return
    q = acct.spec.quote
    title = f"<b>Last {len(found)} closed {'trade' if len(found) == 1 else 'trades'}</b>"
    await bot.reply(update, "\n".join([title] + [_trade_line(t, q) for t in found]))


def _period_lines(
    periods: list[PeriodPnl], quote: str, label: str, now_ms: int | None = None
) -> list[str]:
    return [
        f"{label}{_day(period.start)}  {signed(period.realized_pnl, quote)}  "
        f"{period.trades} {'trade' if period.trades == 1 else 'trades'}"
        + ("" if now_ms is None else _today_mark(period, now_ms))
        for period in periods
    ]


async def _own_days(bot: BotView, update: Update, args: list[str]) -> None:
    n = count_arg(args, "daily", 7, MAX_DAYS)
    inv, _ = await sender_account(bot, update)
    p = await bot.operator.views.profit(inv.account_id, days=n)
    lines = [f"<b>Daily profit</b>, realised ({escape(p.quote)}, business days, UTC)"]
    lines += _period_lines(p.days, p.quote, "", p.as_of)
    if len(p.days) < n:
        lines.append(f"Your account began on {_day(shown_ms(p.since))}.")
    await bot.reply(update, "\n".join(lines))


def _today_mark(period: PeriodPnl, now_ms: int) -> str:
    # Periods are on the axis people read (operator.profit.summarize), ``now_ms`` is business.
    return " (today so far)" if period.start <= shown_ms(now_ms) < period.end else ""


async def _own_day(bot: BotView, update: Update, arg: str) -> None:
    """One business day of the investor's own account: today so far, or a date within the
    last :data:`MAX_DAYS` days."""
    inv, _ = await sender_account(bot, update)
    asked = None if arg.lower() == "today" else parse_date(arg)
    p = await bot.operator.views.profit(inv.account_id, days=MAX_DAYS)
    today = ms_day(shown_ms(p.as_of))
    day = asked or today
    back = (today - day).days
    if back < 0:
        raise RampartError(
            f"{day.isoformat()} has not come yet: today is {today.isoformat()}; /daily today "
            "shows it so far."
        )
    if back >= MAX_DAYS:
        raise RampartError(
            f"/daily shows your last {MAX_DAYS} days; {day.isoformat()} is older. /report "
            f"{day.isoformat()} gives the week that holds it."
        )
    found = [d for d in p.days if _day(d.start) == day.isoformat()]
    if not found:
        raise RampartError(
            f"Your account began on {_day(shown_ms(p.since))}, after {day.isoformat()}: "
            "nothing to show; /daily lists the days since."
        )
    d, q = found[0], p.quote
    lines = [
        f"<b>{'Today' if day == today else 'Daily profit'}</b>, {day.isoformat()}"
        f"{_today_mark(d, p.as_of)} ({escape(q)}, business day, UTC)",
        f"Realised {signed(d.realized_pnl, q)} · {d.trades} "
        f"{'trade' if d.trades == 1 else 'trades'} closed, {d.wins} won",
    ]
    if day == today:
        lines.append(f"Unrealised (open positions) {signed(p.unrealized_pnl, q)}")
    await bot.reply(update, "\n".join(lines))


def _one_day(args: list[str]) -> bool:
    """``/daily today`` or ``/daily YYYY-MM-DD``: one day rather than the last N."""
    return len(args) == 1 and (args[0].lower() == "today" or "-" in args[0][1:])


def _operator_report_asked(args: list[str]) -> bool:
    """``/daily``, ``/daily today`` or ``/daily YYYY-MM-DD``: the operator's daily report."""
    return not args or args[0].lower() == "today" or "-" in args[0][1:]


_operator_daily = operator_only("daily", report_cmds.daily)


async def daily(bot: BotView, update: Update, args: list[str]) -> None:
    """Your realised profit per business day (``/daily N``); an operator's plain ``/daily``
    (or with a date) is the service's daily report."""
    user = present(update.effective_user, "the sender (the router passes user messages)")
    if bot.is_operator(user.id) and _operator_report_asked(args):
        await _operator_daily(bot, update, args)
        return
    if not chats.is_private(update):
        # /daily is let into groups for the operator's report; an account's days are not.
        raise RampartError(chats.group_pointer(bot.app.bot.username))
    if _one_day(args):
        # An investor's "today" or date is their own day (the service's report is the
        # operator's).
        await _own_day(bot, update, args[0])
        return
    await _own_days(bot, update, args)


async def weekly(bot: BotView, update: Update, args: list[str]) -> None:
    """Your realised profit per ISO week (Monday to Sunday, business time)."""
    n = count_arg(args, "weekly", 4, MAX_WEEKS)
    inv, _ = await sender_account(bot, update)
    p = await bot.operator.views.profit(inv.account_id, weeks=n)
    lines = [f"<b>Weekly profit</b>, realised ({escape(p.quote)}, weeks from Monday, UTC)"]
    lines += _period_lines(p.weeks, p.quote, "week of ")
    if len(p.weeks) < n:
        lines.append(f"Your account began on {_day(shown_ms(p.since))}.")
    await bot.reply(update, "\n".join(lines))


COMMANDS: dict[str, Handler] = {
    "profit": profit,
    "balance": balance,
    "trades": trades,
    "daily": daily,
    "weekly": weekly,
}

"""``/portfolio``'s text: equity, cash and PnL, each open position with its stop-loss and
target, and what the account's state and holds mean for the investor (also shown after a demo
order)."""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING

from rampart.domain.accounts import TradingState
from rampart.operator import intents
from rampart.operator.names import ALL
from rampart.operator.views import PositionView
from rampart.telegram.text import money, price, qty, signed, when

if TYPE_CHECKING:
    from rampart.operator.investors import Investor
    from rampart.operator.names import AccountRuntime
    from rampart.telegram.bot_view import BotView


async def portfolio_text(bot: BotView, inv: Investor, acct: AccountRuntime) -> str:
    views = bot.operator.views
    p = await views.portfolio(inv.account_id)
    q = p.quote
    state = "paused" if p.paused else p.state
    lines = [
        f"<b>Portfolio</b> ({escape(state)}{', kill switch on' if p.kill_switch else ''})",
        f"Equity {money(p.equity, q)} · cash {money(p.cash, q)}",
        f"PnL today {signed(p.pnl_today, q)} · total {signed(p.equity - p.capital, q)}",
    ]
    positions = views.positions(inv.account_id)
    if not positions:
        lines.append("No open positions.")
    lines += [position_line(pos, q) for pos in positions]
    return "\n".join(lines + _state_notes(bot, acct))


def position_line(pos: PositionView, quote: str) -> str:
    """One open position: size and entry, its stop-loss and what protects it (a stop resting
    on the exchange, Rampart's monitor and why, or nothing since when), target, unrealised
    PnL. A stop price that rests nowhere is never shown as if it did."""
    return (
        f"<b>{escape(pos.symbol)}</b> {qty(pos.qty)} @ {price(pos.avg_price)} · "
        f"stop-loss {price(pos.stop_loss)} ({_protection(pos)}) · "
        f"target {price(pos.take_profit)} · {signed(pos.unrealized_pnl, quote)}"
    )


def _protection(pos: PositionView) -> str:
    if pos.protection == "unprotected":
        return f"<b>{escape(pos.protection_text)}</b>: no stop rests at this price"
    return escape(pos.protection_text)


def _state_notes(bot: BotView, acct: AccountRuntime) -> list[str]:
    """What the state in the heading means for the investor, and what the agent leaves alone."""
    notes = []
    keeps = "open positions keep their stop-loss and target"
    if acct.paused:
        who, lift = (
            ("the operator", "only the operator can resume it")
            if paused_by_operator(bot, acct)
            else ("you", "/resume starts it again")
        )
        notes.append(f"<i>Paused by {who}</i>: no new positions; {keeps}; {lift}.")
    elif acct.state is TradingState.REDUCING:
        notes.append(f"<i>Reducing</i> means closing only: no new positions for now; {keeps}.")
    elif acct.state is TradingState.HALTED:
        notes.append(f"<i>Halted</i>: no new positions; {keeps}.")
    # The reasons in the words the API, the panel and the notices use (one source).
    notes.extend(f"Why: {escape(r.text)}" for r in bot.operator.restrictions(acct.account_id))
    for symbol, hold in sorted(intents.holds(bot.desk, acct.account_id).items()):
        name = "every coin" if symbol == ALL else escape(symbol)
        until = "you allow it" if hold.until_ms is None else f"{when(hold.until_ms)} UTC"
        notes.append(f"The agent leaves {name} alone until {until} (/allow lifts it).")
    return notes


def paused_by_operator(bot: BotView, acct: AccountRuntime) -> bool:
    by = bot.operator.paused_by(acct.account_id)
    return bool(by) and by not in ("system", acct.spec.owner)

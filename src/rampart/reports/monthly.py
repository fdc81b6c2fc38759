"""An investor's own monthly report (the launch plans send investors one a month):
the month's trades, PnL, fees, equity, drawdown and the breakers that acted on their account,
with the reminder that past results promise nothing."""

from __future__ import annotations

from collections.abc import Iterable

from rampart.reports.figures import Figures
from rampart.reports.markdown import FOOTNOTE, _charts, _strategies, _table, num, pct, quoted
from rampart.reports.period import Period

NO_PROMISE = (
    "Past results promise nothing about future ones: a strategy that gained this month can lose "
    "the next, and you can lose the capital you put in. What Rampart does and does not promise "
    "is in the terms of service (docs/users/terms.md)."
)


def _equity(f: Figures) -> str:
    return f"{quoted(f.start_equity_by_quote)} → {quoted(f.end_equity_by_quote)}"


def investor_monthly_markdown(f: Figures, period: Period, charts: Iterable[str]) -> str:
    parts = [f"# Your month, {period.label}, UTC", "", f"Account {f.account}", ""]
    if f.trades:
        rows = [
            ("trades closed", f"{f.trades} ({f.wins} won, {f.losses} lost)"),
            ("win rate", pct(f.win_rate)),
            ("net PnL", quoted(f.pnl_by_quote, sign=True)),
            ("fees paid", quoted(f.fees_by_quote)),
            ("average reward:risk (planned)", num(f.avg_reward_risk)),
            ("profit factor", num(f.profit_factor)),
        ]
    else:
        rows = [("trades closed", "0 (no trades this month)")]
    rows += [
        (
            "equity, start → end",
            f"{quoted(f.start_equity_by_quote)} → {quoted(f.end_equity_by_quote)}",
        ),
        ("max drawdown", pct(f.max_drawdown)),
        ("Sharpe (daily, annualised)", num(f.sharpe)),
        ("circuit-breaker trips", str(f.breaker_trips)),
    ]
    parts += [_table(rows), "", "## By strategy", "", _strategies(f), "", "## Charts", ""]
    parts += [_charts(charts), "", "---", "", NO_PROMISE, "", FOOTNOTE, ""]
    return "\n".join(parts)

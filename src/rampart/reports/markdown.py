"""The reports as Markdown: the operator's daily and weekly reports, an investor's week.

Every number comes from :class:`~rampart.reports.figures.Figures`; a missing figure (no trades,
no losing trade, no orders) is written as ``—``, never as 0 or NaN.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from decimal import ROUND_HALF_EVEN, Decimal

from rampart.clock import ms_to_datetime
from rampart.domain.money_format import money, totals
from rampart.extras import missing_sentence
from rampart.reports.charts import TITLES
from rampart.reports.figures import Figures
from rampart.reports.period import Period
from rampart.reports.solana_section import solana_markdown

DASH = "—"
CENT = Decimal("0.01")

FOOTNOTE = (
    "Times are UTC. Amounts are in their quote asset (USDT, USDC, BTC…), never converted nor "
    "added across assets; LLM cost is in US dollars. Volume = Σ fill price × quantity. A win is "
    "a trade with net PnL > 0. Profit factor = gross profit / gross loss. Average reward:risk = "
    "mean planned (take-profit − entry) / (entry − stop-loss). Average PnL per investor = mean "
    "net PnL of the accounts that closed a trade. Orders are those created in the period, by "
    "current status; order success = accepted by the venue (not rejected, not unknown) / "
    "submitted; error rate = 1 − order success. Equity = Σ over accounts of each one's latest "
    "snapshot. Return = time-weighted, net of deposits and withdrawals: each step between "
    "equity snapshots is the change less the capital moved in it, over the equity before it "
    "(Modified Dietz), the steps chained; a new account's capital is not a return either. Max "
    "drawdown = largest fall from a peak of that chain; Sharpe = mean / sample standard "
    "deviation of its daily returns × √365, risk-free rate 0. Uptime counts each run from its "
    "start to its last heartbeat plus one heartbeat interval."
)


def usd(amount: Decimal | None) -> str:
    """An amount that is in US dollars (the LLM's cost), never a quote asset's."""
    if amount is None:
        return DASH
    return f"{amount.quantize(CENT, rounding=ROUND_HALF_EVEN):,.2f} USD"


def quoted(amounts: Mapping[str, Decimal], *, sign: bool = False) -> str:
    """Amounts per quote asset as every front shows them: ``+1,204.50 USDT``."""
    return totals(amounts, signed=sign)


def ret(value: float | None) -> str:
    """A return in per cent, signed: ``+3.03 %``."""
    return DASH if value is None else f"{value * 100:+.2f} %"


def pct(value: float | None) -> str:
    return DASH if value is None else f"{value * 100:.1f} %"


def num(value: float | None) -> str:
    return DASH if value is None else f"{value:.2f}"


def amount(value: Decimal, currency: str) -> str:
    return money(value, currency)


def _table(rows: Iterable[Sequence[str]], header: Sequence[str] = ("figure", "value")) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell.replace("|", "/") for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def _counts(items: dict[str, int]) -> str:
    return ", ".join(f"{k} {v}" for k, v in items.items()) or "none"


def _strategies(f: Figures, top: int = 5) -> str:
    if not f.strategies:
        return "No trades."
    rows = [
        (s.strategy, str(s.trades), pct(s.wins / s.trades), quoted({s.quote: s.pnl}, sign=True))
        for s in f.strategies[:top]
    ]
    return _table(rows, ("strategy", "trades", "win rate", "net PnL"))


def _incidents(f: Figures) -> str:
    if not f.incidents:
        return "No incidents opened."
    severities: dict[str, int] = {}
    for i in f.incidents:
        severities[i.severity] = severities.get(i.severity, 0) + 1
    lines = [f"{len(f.incidents)} opened ({_counts(dict(sorted(severities.items())))}):", ""]
    for i in f.incidents[:10]:
        opened = ms_to_datetime(i.opened_at).strftime("%Y-%m-%d %H:%M")
        lines.append(f"- #{i.id} {i.severity} {i.rule} ({i.status}, {opened}): {i.summary}")
    if len(f.incidents) > 10:
        lines.append(f"- and {len(f.incidents) - 10} more")
    return "\n".join(lines)


def llm_line(f: Figures, budget: Decimal | None) -> str:
    if budget is None:
        return f"{usd(f.llm_cost_usd)} (no LLM configured; {f.llm_calls} calls)"
    share = f" = {pct(float(f.llm_cost_usd / budget))}" if budget > 0 else ""
    return f"{usd(f.llm_cost_usd)} of {usd(budget)} budget{share} ({f.llm_calls} calls)"


def _volume_rows(f: Figures) -> list[tuple[str, str]]:
    volume = quoted(f.volume_by_quote) if f.volume_by_quote else money(0, f.quote or "")
    return [("volume", f"{volume} ({f.fills} fills)")]


def _equity_rows(f: Figures) -> list[tuple[str, str]]:
    """Equity held, and performance net of the capital that came in or went out."""
    start, end = quoted(f.start_equity_by_quote), quoted(f.end_equity_by_quote)
    flows = quoted(f.net_flows, sign=True) if f.net_flows else "none"
    return [
        ("equity, start → end", f"{start} → {end}"),
        ("deposits and withdrawals", flows),
        ("return, net of deposits and withdrawals", ret(f.time_weighted_return)),
    ]


def _charts(names: Iterable[str]) -> str:
    links = [f"![{TITLES.get(n, n)}]({n})" for n in names]
    # No charts means matplotlib is missing (build.make_report): say so, and how to fix it.
    return "\n\n".join(links) or f"No charts. {missing_sentence('reports', 'matplotlib')}."


def _uptime(f: Figures) -> str:
    return f"{pct(f.uptime)} ({f.uptime_starts} runs)"


def daily_markdown(
    f: Figures, period: Period, budget: Decimal | None, charts: Iterable[str]
) -> str:
    parts = [f"# Rampart daily report, {period.label} (UTC)", "", "## Trading", ""]
    if f.trades:
        investors = len(f.pnl_by_account)
        rows = [
            ("trades closed", f"{f.trades} ({f.wins} won, {f.losses} lost)"),
            ("net PnL", quoted(f.pnl_by_quote, sign=True)),
            ("fees", quoted(f.fees_by_quote)),
            *_volume_rows(f),
            (
                "average PnL per investor",
                f"{quoted(f.avg_pnl_by_quote(), sign=True)} over {investors} investors",
            ),
            *_equity_rows(f),
        ]
        parts.append(_table(rows))
    else:
        parts.append("No trades closed.")
        parts += ["", _table([*_volume_rows(f), *_equity_rows(f)])]
    parts += ["", "## Top strategies", "", _strategies(f), "", "## Orders, errors, incidents", ""]
    rows = [
        ("orders submitted", str(f.orders_submitted)),
        ("order success", pct(f.order_success)),
        ("orders by status", _counts(f.orders_by_status)),
        ("risk refusals", f"{sum(f.refusals_by_code.values())} ({_counts(f.refusals_by_code)})"),
        ("breaker trips", str(f.breaker_trips)),
    ]
    parts += [_table(rows), "", _incidents(f), ""]
    if f.solana is not None:  # only on a day with swaps
        parts += [*solana_markdown(f.solana), ""]
    parts += ["## Service", ""]
    parts.append(_table([("uptime", _uptime(f)), ("LLM cost", llm_line(f, budget))]))
    parts += ["", "## Charts", "", _charts(charts), "", "---", "", FOOTNOTE, ""]
    return "\n".join(parts)


def weekly_markdown(
    f: Figures,
    period: Period,
    budget: Decimal | None,
    charts: Iterable[str],
    people: Sequence[str] = (),
    infra: tuple[Decimal, int] | None = None,
    revenue: Sequence[str] = (),
) -> str:
    """``infra``: the configured hosts' cost for the week and their number (None: none set);
    ``revenue``: the "Revenue and fees" section's lines."""
    parts = [f"# Rampart weekly report, {period.label}, UTC", "", "## Performance", ""]
    if f.trades:
        rows = [
            ("trades closed", f"{f.trades} ({f.wins} won, {f.losses} lost)"),
            ("win rate", pct(f.win_rate)),
            ("average reward:risk (planned)", num(f.avg_reward_risk)),
            ("profit factor", num(f.profit_factor)),
            ("net PnL", quoted(f.pnl_by_quote, sign=True)),
            ("fees", quoted(f.fees_by_quote)),
            *_volume_rows(f),
        ]
    else:
        rows = [("trades closed", "0 (no trades)")]
    rows += [
        *_equity_rows(f),
        ("max drawdown", pct(f.max_drawdown)),
        ("Sharpe (daily, annualised)", num(f.sharpe)),
    ]
    parts += [_table(rows), "", "## Top strategies", "", _strategies(f), "", "## Operations", ""]
    rows = [
        ("uptime", _uptime(f)),
        ("orders submitted", str(f.orders_submitted)),
        ("execution error rate", pct(f.error_rate)),
        ("risk refusals", str(sum(f.refusals_by_code.values()))),
        ("breaker trips", str(f.breaker_trips)),
        ("LLM cost", llm_line(f, budget)),
        ("infrastructure cost", _infra(infra)),
    ]
    parts += [_table(rows), "", _incidents(f), "", *people]
    if revenue:
        parts += [*revenue, ""]
    parts += ["## Charts", "", _charts(charts), "", "---", "", FOOTNOTE, ""]
    return "\n".join(parts)


def _infra(infra: tuple[Decimal, int] | None) -> str:
    if infra is None:
        return "not configured (ops.infra_cost_usd_per_month)"
    cost, hosts = infra
    return f"{usd(cost)} ({hosts} host{'s' if hosts != 1 else ''}, from their monthly figures)"


def investor_markdown(f: Figures, period: Period, charts: Iterable[str]) -> str:
    parts = [f"# Your week, {period.label}, UTC", "", f"Account {f.account}", ""]
    if f.trades:
        rows = [
            ("trades closed", f"{f.trades} ({f.wins} won, {f.losses} lost)"),
            ("win rate", pct(f.win_rate)),
            ("net PnL", quoted(f.pnl_by_quote, sign=True)),
            ("fees", quoted(f.fees_by_quote)),
            ("average reward:risk (planned)", num(f.avg_reward_risk)),
            ("profit factor", num(f.profit_factor)),
        ]
    else:
        rows = [("trades closed", "0 (no trades this week)")]
    rows += [
        *_equity_rows(f),
        ("max drawdown", pct(f.max_drawdown)),
        ("Sharpe (daily, annualised)", num(f.sharpe)),
    ]
    parts += [_table(rows), "", "## By strategy", "", _strategies(f), "", "## Charts", ""]
    parts += [_charts(charts), "", "---", "", FOOTNOTE, ""]
    return "\n".join(parts)

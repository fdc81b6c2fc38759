"""The revenue review as a person reads it: Markdown for the weekly report, CSV for a
spreadsheet, JSON for the API (:mod:`rampart.reports.revenue` computes it)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rampart.reports.revenue import InvestorWeek, OperatorWeek, Revenue

CSV_COLUMNS = (
    "week",
    "scope",
    "currency",
    "operator_fees",
    "subscription",
    "performance_fee",
    "partner_fees_sol",
    "realized_pnl",
    "exchange_fees",
    "network_fees_sol",
    "infra_usd",
    "llm_usd",
    "net",
    "note",
)
NOTE = (
    "Operator fees are owed by investors per the terms (ops.investor_fees: a subscription and a "
    "share of realised profit above the high-water mark), accrued, not taken by Rampart. "
    "Partner fees: bags.fm's, read by `rampart wallet partner-fees`. The operator's net is in "
    "dollars: its fees (stablecoin quotes) and the partner fees at the week's last SOL price, "
    "less infrastructure and LLM cost. The exchange's and the network's fees are paid by the "
    "accounts themselves; an investor's realised PnL is already after the exchange's fees, "
    "and the investor's net after the operator's fee too."
)


def day(ts: int) -> str:
    return datetime.fromtimestamp(ts / 1000, UTC).strftime("%Y-%m-%d")


def _money(value: Decimal | None) -> str:
    return "" if value is None else f"{value.quantize(Decimal('0.01')):f}"


def _sol(value: Decimal | None) -> str:
    return "" if value is None else f"{value.quantize(Decimal('0.000001')).normalize():f}"


def _by_quote(amounts: dict[str, Decimal]) -> str:
    shown = [f"{_money(v)} {q}" for q, v in sorted(amounts.items()) if v]
    return ", ".join(shown) or "0"


def operator_row(w: OperatorWeek) -> list[str]:
    return [
        day(w.week), "operator", "USD", _by_quote(w.operator_fees), "", "",
        _sol(w.partner_fees_sol) if w.partner_fees_sol is not None else "not recorded", "",
        _by_quote(w.exchange_fees), _sol(w.network_fees_sol), _money(w.infra_usd),
        _money(w.llm_usd), _money(w.net_usd), "; ".join(w.left_out),
    ]  # fmt: skip


def investor_row(i: InvestorWeek) -> list[str]:
    return [
        day(i.week), i.account_id, i.quote, _money(i.operator_fee), _money(i.subscription),
        _money(i.performance_fee), "", _money(i.realized_pnl), _money(i.exchange_fees),
        _sol(i.network_fees_sol), "", "", _money(i.net), "",
    ]  # fmt: skip


def csv_text(rev: Revenue) -> str:
    """One row per week for the operator, then one per week and investor account."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for w in rev.weeks:
        writer.writerow(operator_row(w))
    for i in rev.investors:
        writer.writerow(investor_row(i))
    return out.getvalue()


def markdown(rev: Revenue) -> list[str]:
    """The weekly report's "Revenue and fees" section: every week for the operator, and the
    investors' last week in total. The report goes to the operator's chat and mailbox, so it
    names no investor (as its people section names none); the panel's Revenue page, the API
    and ``rampart review revenue --csv`` list each account."""
    lines = [
        "## Revenue and fees",
        "",
        "| week | operator fees | partner fees (SOL) | exchange fees paid | network fees (SOL) "
        "| infrastructure | LLM | net (USD) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for w in rev.weeks:
        partner = _sol(w.partner_fees_sol) if w.partner_fees_sol is not None else "not recorded"
        lines.append(
            f"| {day(w.week)} | {_by_quote(w.operator_fees)} | {partner} | "
            f"{_by_quote(w.exchange_fees)} | {_sol(w.network_fees_sol)} | "
            f"{_money(w.infra_usd)} | {_money(w.llm_usd)} | {_money(w.net_usd)} |"
        )
    for w in rev.weeks:
        for left in w.left_out:
            lines.append(f"- Week of {day(w.week)}: not in the net: {left}.")
    rows = rev.of_week(rev.weeks[-1].week) if rev.weeks else []
    if rows:
        pnl: dict[str, Decimal] = {}
        fees: dict[str, Decimal] = {}
        for i in rows:
            pnl[i.quote] = pnl.get(i.quote, Decimal(0)) + i.realized_pnl
            fees[i.quote] = fees.get(i.quote, Decimal(0)) + i.operator_fee
        lines += [
            "",
            f"Investors, week of {day(rev.weeks[-1].week)}: {len(rows)} account(s), realised "
            f"PnL {_by_quote(pnl)}, operator fees {_by_quote(fees)} (each account: the panel's "
            "Revenue page or `rampart review revenue --csv`).",
        ]
    return [*lines, "", NOTE]


def as_dict(rev: Revenue) -> dict[str, Any]:
    """For the API: money as exact decimal strings."""

    def text(value: Decimal | None) -> str | None:
        return None if value is None else str(value)

    return {
        "as_of": rev.as_of,
        "weeks": [
            {
                "week": day(w.week),
                "operator_fees": {q: str(v) for q, v in w.operator_fees.items()},
                "partner_fees_sol": text(w.partner_fees_sol),
                "exchange_fees": {q: str(v) for q, v in w.exchange_fees.items()},
                "network_fees_sol": str(w.network_fees_sol),
                "infra_usd": str(w.infra_usd),
                "llm_usd": str(w.llm_usd),
                "sol_usd": text(w.sol_usd),
                "net_usd": str(w.net_usd),
                "left_out": list(w.left_out),
            }
            for w in rev.weeks
        ],
        "investors": [
            {
                "week": day(i.week),
                "account_id": i.account_id,
                "quote": i.quote,
                "realized_pnl": str(i.realized_pnl),
                "exchange_fees": str(i.exchange_fees),
                "network_fees_sol": str(i.network_fees_sol),
                "subscription": str(i.subscription),
                "performance_fee": str(i.performance_fee),
                "operator_fee": str(i.operator_fee),
                "net": str(i.net),
            }
            for i in rev.investors
        ],
    }


__all__ = ["CSV_COLUMNS", "as_dict", "csv_text", "markdown"]

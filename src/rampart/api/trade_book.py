"""Every account's trades in one place, for the panel's Trades page and the API's CSV export:
closed trades read through the same views as ``GET /accounts/{id}/trades`` (store rows and
those the writer still holds), open trades (positions) from the engine, and profit grouped by
day, pair and agent.

Amounts are never added across quote assets: a group is (its key, its quote). The CSV keeps
every figure as its exact decimal string (machines read it); the page formats them through
:mod:`rampart.domain.money_format` like every other figure.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from rampart.clock import ms_to_datetime
from rampart.operator.views import MAX_ITEMS

CSV_COLUMNS = (
    "account_id",
    "owner",
    "agent",
    "profile",
    "trade_id",
    "symbol",
    "quote",
    "strategy",
    "opened_at",
    "closed_at",
    "qty",
    "entry_price",
    "exit_price",
    "stop_loss",
    "take_profit",
    "gross_pnl",
    "fees",
    "pnl",
    "exit_reason",
    "exit_cause",
)
GROUPINGS = ("day", "pair", "agent")


@dataclass(frozen=True, slots=True)
class BookTrade:
    """A closed trade with the account that made it."""

    account_id: str
    owner: str
    agent: str
    profile: str
    quote: str
    trade: Any  # rampart.operator.view_types.TradeView


@dataclass(slots=True)
class Group:
    key: str
    quote: str
    trades: int = 0
    wins: int = 0
    pnl: Decimal = Decimal(0)
    fees: Decimal = Decimal(0)
    accounts: set[str] = field(default_factory=set)


def _text(value: object) -> str:
    """A text cell a spreadsheet shows as text: one starting with ``= + - @`` (a formula to
    Excel or LibreOffice) gets a leading apostrophe. Figures are written as they are."""
    text = str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _day(ms: int) -> str:
    return f"{ms_to_datetime(ms):%Y-%m-%d}"


def _iso(ms: int) -> str:
    return f"{ms_to_datetime(ms):%Y-%m-%dT%H:%M:%S}Z"


async def closed_trades(
    ctx: Any, accounts: Iterable[str], since: int | None = None, until: int | None = None
) -> list[BookTrade]:
    """The accounts' closed trades (each account's newest ``MAX_ITEMS``), closed in
    ``[since, until)``, most recently closed first."""
    found: list[BookTrade] = []
    for name in accounts:
        summary = ctx.operator.summary(name)
        for t in await ctx.views.trades(name, MAX_ITEMS, since):
            if until is not None and t.closed_at >= until:
                continue
            found.append(
                BookTrade(name, summary.owner, summary.agent, summary.profile, summary.quote, t)
            )
    found.sort(key=lambda b: (b.trade.closed_at, b.account_id, b.trade.trade_id), reverse=True)
    return found


def open_trades(ctx: Any, accounts: Iterable[str]) -> list[dict[str, Any]]:
    """Every open position of ``accounts`` with its account, oldest first."""
    rows = []
    for name in accounts:
        summary = ctx.operator.summary(name)
        for p in ctx.views.positions(name):
            rows.append(
                {"account_id": name, "agent": summary.agent, "quote": summary.quote, "p": p}
            )
    rows.sort(key=lambda r: (r["p"].opened_at, r["account_id"], r["p"].symbol))
    return rows


def _key(b: BookTrade, by: str) -> str:
    if by == "day":
        return _day(b.trade.closed_at)
    if by == "pair":
        return str(b.trade.symbol)
    return b.agent


def profit_by(trades: Iterable[BookTrade], by: str) -> list[Group]:
    """Realised PnL (after fees), trades, wins and fees per ``by`` (day, pair or agent) and quote
    asset: days newest first, pairs and agents by name."""
    if by not in GROUPINGS:
        raise ValueError(f"group by one of {', '.join(GROUPINGS)}")
    groups: dict[tuple[str, str], Group] = {}
    for b in trades:
        key = _key(b, by)
        g = groups.setdefault((key, b.quote), Group(key, b.quote))
        g.trades += 1
        g.wins += 1 if b.trade.pnl > 0 else 0
        g.pnl += b.trade.pnl
        g.fees += b.trade.fees
        g.accounts.add(b.account_id)
    return sorted(groups.values(), key=lambda g: (g.key, g.quote), reverse=by == "day")


def csv_text(trades: Iterable[BookTrade]) -> str:
    """The trades as CSV (RFC 4180, a header row): exact decimal strings, ISO 8601 UTC times."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for b in trades:
        t = b.trade
        writer.writerow(
            (
                *map(_text, (b.account_id, b.owner, b.agent, b.profile, t.trade_id, t.symbol)),
                _text(b.quote),
                _text(t.strategy),
                _iso(t.opened_at),
                _iso(t.closed_at),
                *(str(getattr(t, k)) for k in CSV_COLUMNS[10:18]),
                _text(t.exit_reason),
                _text(t.exit_cause),
            )
        )
    return out.getvalue()


__all__ = [
    "CSV_COLUMNS",
    "GROUPINGS",
    "BookTrade",
    "Group",
    "closed_trades",
    "csv_text",
    "open_trades",
    "profit_by",
]

"""Revenue and fees by ISO week (plan 001's weekly "revenue/fees review").

For the operator: the fees investors owe per the terms (``ops.investor_fees``: a subscription
and a share of profit above the high-water mark), the bags.fm partner fees earned (from the
snapshots ``rampart wallet partner-fees`` records), the infrastructure cost
(``ops.infra_cost_usd_per_month``) and the LLM cost (``llm_calls``), and the net of them in
US dollars. For each investor: the week's realised PnL (after the exchange's fees), the
exchange's and the network's fees the account paid and the operator's fee, and what is left.

Stablecoin quotes count as dollars; the partner and network fees are in SOL and count in the
net only at a SOL price the service recorded (``market_closes``), else they are listed apart
and the net says so. Nothing here moves money: the fees are accrued, for the operator to bill.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from rampart.domain.errors import RampartError
from rampart.domain.money import ZERO
from rampart.store import models as m
from rampart.store import ops_records
from rampart.store.market_closes import market_closes
from rampart.store.models.llm import llm_calls
from rampart.store.models.solana import solana_swaps

DAY_MS = 86_400_000
WEEK_MS = 7 * DAY_MS
MONDAY_OFFSET_MS = 3 * DAY_MS
"""1970-01-01 was a Thursday: the first Monday on or before it is 3 days earlier."""
YEAR_DAYS = Decimal("365.25")
LAMPORTS_PER_SOL = Decimal(10**9)
STABLE = frozenset({"USD", "USDT", "USDC", "BUSD", "FDUSD", "TUSD", "DAI"})
"""Quote currencies counted as US dollars in the net."""
SOL_PRICES = ("SOL/USDC", "SOL/USDT")
PARTNER_FEES = "partner_fees"
"""Ops event: a reading of a bags.fm partner wallet's fees, ``detail``: ``wallet`` and
``earned_sol`` (claimed + unclaimed, since the partner config began)."""
CENT = Decimal("0.01")
MAX_WEEKS = 52


def week_start(ts: int) -> int:
    """The Monday 00:00 UTC that begins the ISO week holding ``ts``."""
    return (ts + MONDAY_OFFSET_MS) // WEEK_MS * WEEK_MS - MONDAY_OFFSET_MS


@dataclass(frozen=True, slots=True)
class InvestorWeek:
    week: int
    account_id: str
    quote: str
    realized_pnl: Decimal
    """Realised PnL of the trades closed in the week, after the exchange's fees."""
    exchange_fees: Decimal
    network_fees_sol: Decimal
    subscription: Decimal
    performance_fee: Decimal
    high_water: Decimal
    """The account's high-water mark of realised PnL at the week's end."""

    @property
    def operator_fee(self) -> Decimal:
        return self.subscription + self.performance_fee

    @property
    def net(self) -> Decimal:
        """What the week left the investor, in the quote: PnL less the operator's fee (the
        network fees are in SOL, apart)."""
        return self.realized_pnl - self.operator_fee


@dataclass(frozen=True, slots=True)
class OperatorWeek:
    week: int
    end: int
    """Where the week's figures stop: its end, or now for the week under way."""
    operator_fees: dict[str, Decimal]
    """Owed by investors, by quote currency."""
    partner_fees_sol: Decimal | None
    """Earned on bags.fm in the week; None when no reading covers it."""
    exchange_fees: dict[str, Decimal]
    network_fees_sol: Decimal
    infra_usd: Decimal
    llm_usd: Decimal
    sol_usd: Decimal | None
    net_usd: Decimal
    left_out: tuple[str, ...] = ()
    """What the net could not count, in words."""


@dataclass
class Revenue:
    as_of: int
    weeks: list[OperatorWeek] = field(default_factory=list)
    investors: list[InvestorWeek] = field(default_factory=list)

    def of_week(self, week: int) -> list[InvestorWeek]:
        return [i for i in self.investors if i.week == week]


def revenue(
    engine: sa.Engine, settings: Any, weeks: int, now_ms: int, until_ms: int | None = None
) -> Revenue:
    """The ``weeks`` ISO weeks up to the one holding ``now_ms`` (that one to date), or up to
    ``until_ms`` (a week's end: the weekly report's)."""
    if isinstance(weeks, bool) or not isinstance(weeks, int) or not 1 <= weeks <= MAX_WEEKS:
        raise RampartError(f"The number of weeks must be a whole number from 1 to {MAX_WEEKS}.")
    as_of = now_ms
    now_ms = now_ms if until_ms is None else min(until_ms, now_ms)
    last = week_start(now_ms - 1)
    starts = [last - i * WEEK_MS for i in range(weeks - 1, -1, -1)]
    fees = settings.ops.investor_fees
    with engine.connect() as conn:
        charged = _investor_accounts(conn)
        quotes = _quotes(conn)
        pnl = _weekly(conn, m.trades, m.trades.c.closed_at, m.trades.c.pnl, charged, None)
        exch = _weekly(conn, m.fills, m.fills.c.ts, m.fills.c.fee, None, (starts[0], now_ms))
        net_fees = _lamports(conn, starts[0], now_ms)
        llm = _llm(conn, starts[0], now_ms)
        sol_usd = {w: _sol_price(conn, min(w + WEEK_MS, now_ms)) for w in starts}
    partner = _partner_earned(engine, starts, now_ms)
    out = Revenue(as_of)
    owed: dict[int, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for account_id, (quote, created) in sorted(charged.items()):
        for row in _investor_weeks(
            account_id, quote, created, starts, now_ms, fees, pnl, exch, net_fees
        ):
            out.investors.append(row)
            owed[row.week][quote] += row.operator_fee
    for w in starts:
        end = min(w + WEEK_MS, now_ms)
        days = Decimal(end - w) / DAY_MS
        infra = _infra(settings, days)
        paid: dict[str, Decimal] = defaultdict(Decimal)
        for (account_id, week), amount in exch.items():
            if week == w:
                paid[quotes.get(account_id, "?")] += amount
        lamports = sum((v for (_, week), v in net_fees.items() if week == w), 0)
        out.weeks.append(
            _operator_week(
                w, end, dict(owed[w]), partner.get(w), dict(paid), lamports, infra,
                llm.get(w, ZERO), sol_usd[w],
            )
        )  # fmt: skip
    return out


def _operator_week(
    week: int,
    end: int,
    owed: dict[str, Decimal],
    partner_sol: Decimal | None,
    paid: dict[str, Decimal],
    lamports: int,
    infra: Decimal,
    llm: Decimal,
    sol_usd: Decimal | None,
) -> OperatorWeek:
    left_out: list[str] = []
    income = ZERO
    for quote, amount in owed.items():
        if quote in STABLE:
            income += amount
        elif amount:
            left_out.append(f"operator fees of {amount} {quote} (no dollar price)")
    if partner_sol:
        if sol_usd is not None:
            income += partner_sol * sol_usd
        else:
            left_out.append(f"partner fees of {partner_sol} SOL (no SOL price recorded)")
    net = (income - infra - llm).quantize(CENT)
    return OperatorWeek(
        week, end, owed, partner_sol, paid, Decimal(lamports) / LAMPORTS_PER_SOL, infra,
        llm, sol_usd, net, tuple(left_out),
    )  # fmt: skip


def _investor_weeks(
    account_id: str,
    quote: str,
    created: int,
    starts: list[int],
    now_ms: int,
    fees: Any,
    pnl: dict[tuple[str, int], Decimal],
    exch: dict[tuple[str, int], Decimal],
    lamports: dict[tuple[str, int], int],
) -> Iterable[InvestorWeek]:
    """Each shown week of one investor's account, the high-water mark carried from its first
    week of trading (a fee is earned only on profit above every earlier week's peak)."""
    weekly = {w: v for (a, w), v in pnl.items() if a == account_id}
    first = min([*weekly, starts[0]])
    every = list(range(first, starts[-1] + 1, WEEK_MS))
    charged = performance_fees([weekly.get(w, ZERO) for w in every], fees.performance_share)
    for week, (performance, high) in zip(every, charged, strict=True):
        if week < starts[0]:
            continue
        end = min(week + WEEK_MS, now_ms)
        days = Decimal(max(0, end - max(week, created))) / DAY_MS
        subscription = fees.subscription_per_month * 12 * days / YEAR_DAYS
        yield InvestorWeek(
            week=week,
            account_id=account_id,
            quote=quote,
            realized_pnl=weekly.get(week, ZERO),
            exchange_fees=exch.get((account_id, week), ZERO),
            network_fees_sol=Decimal(lamports.get((account_id, week), 0)) / LAMPORTS_PER_SOL,
            subscription=subscription.quantize(CENT),
            performance_fee=performance,
            high_water=high,
        )


def performance_fees(pnls: Sequence[Decimal], share: Decimal) -> list[tuple[Decimal, Decimal]]:
    """Each week's performance fee (to the cent) and the high-water mark after it, from the
    weeks' realised PnL in order: the fee is ``share`` of the cumulative PnL above the highest
    it had reached, so profit that only wins back a loss is never charged, and no profit is
    charged twice."""
    out: list[tuple[Decimal, Decimal]] = []
    cumulative = high = ZERO
    for pnl in pnls:
        cumulative += pnl
        fee = (share * max(ZERO, cumulative - high)).quantize(CENT)
        high = max(high, cumulative)
        out.append((fee, high))
    return out


# -- the store's figures ------------------------------------------------------------------------


def _investor_accounts(conn: sa.Connection) -> dict[str, tuple[str, int]]:
    """Investors' accounts (the terms accepted, an account made): id → (quote, created)."""
    a, i = m.accounts.c, m.investors.c
    query = sa.select(a.account_id, a.quote, a.created_at).join(
        m.investors, i.account_id == a.account_id
    )
    return {str(r.account_id): (str(r.quote), int(r.created_at)) for r in conn.execute(query)}


def _quotes(conn: sa.Connection) -> dict[str, str]:
    a = m.accounts.c
    return {str(r.account_id): str(r.quote) for r in conn.execute(sa.select(a.account_id, a.quote))}


def _weekly(
    conn: sa.Connection,
    table: sa.Table,
    ts: sa.Column[Any],
    amount: sa.Column[Any],
    accounts: dict[str, Any] | None,
    span: tuple[int, int] | None,
) -> dict[tuple[str, int], Decimal]:
    """(account, week) → Σ amount of the rows (money summed as Decimal, never in SQL: the
    store keeps it as exact text)."""
    query = sa.select(table.c.account_id, ts, amount)
    if accounts is not None:
        query = query.where(table.c.account_id.in_(list(accounts)))
    if span is not None:
        query = query.where(ts >= span[0], ts < span[1])
    out: dict[tuple[str, int], Decimal] = defaultdict(Decimal)
    rows: Any = conn.execute(query)
    for account_id, when, value in rows:
        out[(str(account_id), week_start(int(when)))] += Decimal(str(value))
    return out


def _lamports(conn: sa.Connection, start: int, end: int) -> dict[tuple[str, int], int]:
    """Network fees by (account, week): every attempt that landed paid its fee."""
    c = solana_swaps.c
    query = sa.select(c.account_id, c.ts, c.fee_lamports).where(c.ts >= start, c.ts < end)
    out: dict[tuple[str, int], int] = defaultdict(int)
    rows: Any = conn.execute(query)
    for account_id, when, lamports in rows:
        out[(str(account_id), week_start(int(when)))] += int(lamports or 0)
    return out


def _llm(conn: sa.Connection, start: int, end: int) -> dict[int, Decimal]:
    c = llm_calls.c
    out: dict[int, Decimal] = defaultdict(Decimal)
    rows: Any = conn.execute(sa.select(c.ts, c.cost_usd).where(c.ts >= start, c.ts < end))
    for when, cost in rows:
        out[week_start(int(when))] += Decimal(str(cost))
    return out


def _sol_price(conn: sa.Connection, before: int) -> Decimal | None:
    c = market_closes.c
    query = (
        sa.select(c.close)
        .where(c.symbol.in_(SOL_PRICES), c.ts < before)
        .order_by(c.ts.desc())
        .limit(1)
    )
    found = conn.execute(query).scalar()
    return None if found is None else Decimal(str(found)).quantize(CENT)


def _infra(settings: Any, days: Decimal) -> Decimal:
    monthly = sum(settings.ops.infra_cost_usd_per_month.values(), ZERO)
    return (monthly * 12 * days / YEAR_DAYS).quantize(CENT)


def _partner_earned(engine: sa.Engine, starts: list[int], now_ms: int) -> dict[int, Decimal]:
    """SOL earned on bags.fm per week, from the readings: per wallet, the last reading by the
    week's end less the last one before it began (or the first one inside it)."""
    readings = ops_records.events_between(engine, PARTNER_FEES, 0, now_ms + 1)
    by_wallet: dict[str, list[tuple[int, Decimal]]] = defaultdict(list)
    for e in readings:
        by_wallet[str(e.detail.get("wallet", ""))].append((e.ts, Decimal(e.detail["earned_sol"])))
    out: dict[int, Decimal] = {}
    for w in starts:
        end = min(w + WEEK_MS, now_ms + 1)
        total: Decimal | None = None
        for seen in by_wallet.values():
            before = [v for ts, v in seen if ts < w]
            inside = [v for ts, v in seen if w <= ts < end]
            if not inside:
                continue
            base = before[-1] if before else inside[0]
            total = (total or ZERO) + inside[-1] - base
        if total is not None:
            out[w] = total
    return out


__all__ = [
    "PARTNER_FEES",
    "InvestorWeek",
    "OperatorWeek",
    "Revenue",
    "performance_fees",
    "revenue",
    "week_start",
]

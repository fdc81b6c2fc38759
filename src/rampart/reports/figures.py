"""The figures of a report, read from the store for one window ``[start, end)`` (UTC ms).

Definitions (the report's footnote repeats them):

- amounts (PnL, fees, volume, equity) are in each account's or symbol's quote asset, never
  converted nor added across assets (``*_by_quote``); the USD-denominated totals
  (``volume_usd``: USDT, USDC and USD quotes; ``volume_other``) are kept for the stored JSON;
- volume: Σ fill price × quantity;
- a win is a closed trade with pnl > 0; win rate = wins / trades; profit factor = gross profit
  / gross loss (None with no losing trade); average reward:risk = mean of the brackets' planned
  (take-profit − entry) / (entry − stop-loss), as in the backtest summary;
- average PnL per investor: the mean of each account's net PnL, over the accounts that closed
  at least one trade in the window;
- orders: those created in the window, by their current status; submitted = every status but
  ``new``; order success = submitted orders the venue accepted (not rejected, not unknown) /
  submitted; execution error rate = 1 − order success;
- equity: per account, the last snapshot before the window carried in, then every snapshot in
  it; the curve is the sum over accounts of each one's latest equity (what they hold);
- returns are net of deposits and withdrawals (:mod:`rampart.reports.equity`): the
  time-weighted index over every snapshot, each step's change net of the capital moved in it;
  the window's return, its daily returns and its max drawdown are the index's; Sharpe =
  mean(daily r) / sample stdev × √365, risk-free rate 0, None with fewer than two returns or
  no variation;
- uptime: :func:`rampart.store.ops_records.uptime` with health's staleness bound as grace
  (``runtime.business_time.uptime_grace_ms``).
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from rampart.domain.symbols import quote_asset
from rampart.reports import equity as eq
from rampart.store import models as m
from rampart.store.llm_calls import llm_cost
from rampart.store.ops_records import uptime
from rampart.store.solana_swaps import SwapTotals, swap_totals

ZERO = Decimal(0)
USD_QUOTES = frozenset({"USDT", "USDC", "USD"})
NOT_SUBMITTED = "new"
NOT_ACCEPTED = frozenset({"rejected", "unknown"})
TRADING_DAYS = 365
"""Crypto trades every day of the year."""


@dataclass(frozen=True, slots=True)
class StrategyLine:
    strategy: str
    trades: int
    wins: int
    pnl: Decimal
    quote: str = ""
    """The quote asset of its trades (a strategy trading two quote assets has two lines)."""


@dataclass(frozen=True, slots=True)
class IncidentLine:
    id: int
    severity: str
    rule: str
    status: str
    summary: str
    opened_at: int


@dataclass(frozen=True, slots=True)
class Figures:
    start: int
    end: int
    account: str | None
    """None for every account (the operator's report), else one account's own figures."""
    trades: int = 0
    wins: int = 0
    losses: int = 0
    net_pnl: Decimal = ZERO
    gross_profit: Decimal = ZERO
    gross_loss: Decimal = ZERO
    fees: Decimal = ZERO
    reward_risk_sum: Decimal = ZERO
    fills: int = 0
    volume_usd: Decimal = ZERO
    volume_other: dict[str, Decimal] = field(default_factory=dict)
    pnl_by_account: dict[str, Decimal] = field(default_factory=dict)
    strategies: list[StrategyLine] = field(default_factory=list)
    orders_by_status: dict[str, int] = field(default_factory=dict)
    refusals_by_code: dict[str, int] = field(default_factory=dict)
    breaker_trips: int = 0
    incidents: list[IncidentLine] = field(default_factory=list)
    equity_curve: list[tuple[int, float]] = field(default_factory=list)
    start_equity: Decimal | None = None
    end_equity: Decimal | None = None
    daily_returns: list[float] = field(default_factory=list)
    """Of the time-weighted index: deposits and withdrawals are not returns."""
    time_weighted_return: float | None = None
    """The window's return net of deposits and withdrawals; None without equity snapshots."""
    max_drawdown: float | None = None
    """Of the time-weighted index: a withdrawal is not a drawdown."""
    quotes: dict[str, str] = field(default_factory=dict)
    """Account → its quote asset."""
    pnl_by_quote: dict[str, Decimal] = field(default_factory=dict)
    fees_by_quote: dict[str, Decimal] = field(default_factory=dict)
    volume_by_quote: dict[str, Decimal] = field(default_factory=dict)
    start_equity_by_quote: dict[str, Decimal] = field(default_factory=dict)
    end_equity_by_quote: dict[str, Decimal] = field(default_factory=dict)
    net_flows: dict[str, Decimal] = field(default_factory=dict)
    """Capital put in minus taken out in the window, per quote asset."""
    up_ms: int = 0
    uptime_starts: int = 0
    llm_calls: int = 0
    llm_cost_usd: Decimal = ZERO
    solana: SwapTotals | None = None
    """The day's Solana swaps (operator's reports only); None when there were none."""

    @property
    def win_rate(self) -> float | None:
        return self.wins / self.trades if self.trades else None

    @property
    def profit_factor(self) -> float | None:
        return float(self.gross_profit / self.gross_loss) if self.gross_loss > ZERO else None

    @property
    def avg_reward_risk(self) -> float | None:
        return float(self.reward_risk_sum / self.trades) if self.trades else None

    @property
    def avg_pnl_per_investor(self) -> Decimal | None:
        if not self.pnl_by_account:
            return None
        return sum(self.pnl_by_account.values(), ZERO) / len(self.pnl_by_account)

    @property
    def orders_submitted(self) -> int:
        return sum(n for s, n in self.orders_by_status.items() if s != NOT_SUBMITTED)

    @property
    def order_success(self) -> float | None:
        submitted = self.orders_submitted
        if not submitted:
            return None
        failed = sum(n for s, n in self.orders_by_status.items() if s in NOT_ACCEPTED)
        return (submitted - failed) / submitted

    @property
    def error_rate(self) -> float | None:
        success = self.order_success
        return None if success is None else 1 - success

    @property
    def sharpe(self) -> float | None:
        returns = self.daily_returns
        if len(returns) < 2:
            return None
        spread = statistics.stdev(returns)
        if spread == 0:
            return None
        return statistics.fmean(returns) / spread * math.sqrt(TRADING_DAYS)

    @property
    def quote(self) -> str | None:
        """The one quote asset of the accounts in the report, None when they have several."""
        found = set(self.quotes.values())
        return found.pop() if len(found) == 1 else None

    def avg_pnl_by_quote(self) -> dict[str, Decimal]:
        """Mean net PnL of the accounts that closed a trade, per quote asset."""
        grouped: dict[str, list[Decimal]] = defaultdict(list)
        for acct, pnl in self.pnl_by_account.items():
            grouped[self.quotes.get(acct, "")].append(pnl)
        return {q: sum(v, ZERO) / len(v) for q, v in sorted(grouped.items())}

    @property
    def uptime(self) -> float | None:
        window = self.end - self.start
        return self.up_ms / window if window > 0 else None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready figures (money as strings), as stored with the report and served."""

        def plain(value: Any) -> Any:
            if isinstance(value, Decimal):
                return str(value)
            if isinstance(value, dict):
                return {k: plain(v) for k, v in value.items()}
            return value

        return {
            "start": self.start,
            "end": self.end,
            "account": self.account,
            "trades": self.trades,
            "wins": self.wins,
            "losses": self.losses,
            "win_rate": self.win_rate,
            "net_pnl": str(self.net_pnl),
            "gross_profit": str(self.gross_profit),
            "gross_loss": str(self.gross_loss),
            "fees": str(self.fees),
            "profit_factor": self.profit_factor,
            "avg_reward_risk": self.avg_reward_risk,
            "fills": self.fills,
            "volume_usd": str(self.volume_usd),
            "volume_other": plain(self.volume_other),
            "pnl_by_account": plain(self.pnl_by_account),
            "avg_pnl_per_investor": plain(self.avg_pnl_per_investor),
            "strategies": [
                {
                    "strategy": s.strategy,
                    "quote": s.quote,
                    "trades": s.trades,
                    "wins": s.wins,
                    "pnl": str(s.pnl),
                }
                for s in self.strategies
            ],
            "quotes": dict(self.quotes),
            "pnl_by_quote": plain(self.pnl_by_quote),
            "fees_by_quote": plain(self.fees_by_quote),
            "volume_by_quote": plain(self.volume_by_quote),
            "start_equity_by_quote": plain(self.start_equity_by_quote),
            "end_equity_by_quote": plain(self.end_equity_by_quote),
            "net_flows": plain(self.net_flows),
            "time_weighted_return": self.time_weighted_return,
            "orders_by_status": dict(self.orders_by_status),
            "orders_submitted": self.orders_submitted,
            "order_success": self.order_success,
            "error_rate": self.error_rate,
            "refusals_by_code": dict(self.refusals_by_code),
            "breaker_trips": self.breaker_trips,
            "incidents": [
                {"id": i.id, "severity": i.severity, "rule": i.rule, "status": i.status}
                for i in self.incidents
            ],
            "start_equity": plain(self.start_equity),
            "end_equity": plain(self.end_equity),
            "max_drawdown": self.max_drawdown,
            "daily_returns": list(self.daily_returns),
            "sharpe": self.sharpe,
            "uptime": self.uptime,
            "llm_calls": self.llm_calls,
            "llm_cost_usd": str(self.llm_cost_usd),
            "swaps": self.solana.as_dict() if self.solana is not None else None,
        }


def quote_of(symbol: str) -> str:
    return quote_asset(symbol).upper()


def _where_account(stmt: Any, column: Any, account: str | None) -> Any:
    return stmt if account is None else stmt.where(column == account)


def compute(
    engine: sa.Engine,
    start: int,
    end: int,
    *,
    account: str | None = None,
    grace_ms: int = 0,
) -> Figures:
    """Every figure of the window; ``account`` narrows it to one investor's own account
    (uptime and LLM cost stay service-wide: they are not anyone's own)."""
    with engine.connect() as conn:
        trades = _trades(conn, start, end, account)
        fills = _fills(conn, start, end, account)
        orders = _orders(conn, start, end, account)
        refusals = _refusals(conn, start, end, account)
        trips = _breaker_trips(conn, start, end, account)
        found_incidents = _incidents(conn, start, end) if account is None else []
        carried, snapshots = eq.read_snapshots(conn, start, end, account)
        since = min((ts for ts, _ in carried.values()), default=start)
        flows = eq.read_flows(conn, since, end, account)
        quotes = _quotes(conn, account)
    tt = _trade_totals(trades)
    volume_usd, volume_other, volume_by_quote = _volumes(fills)
    curve, start_eq, end_eq = eq.equity_curve(carried, snapshots, start)
    growth = eq.growth(carried, snapshots, flows, start, end)
    first_by_quote, last_by_quote = eq.by_quote(carried, snapshots, quotes)
    up = uptime(engine, start, end, grace_ms=grace_ms)
    cost = llm_cost(engine, start, end)
    swaps = swap_totals(engine, start, end) if account is None else None
    return Figures(
        start=start,
        end=end,
        account=account,
        trades=len(trades),
        wins=tt.wins,
        losses=len(trades) - tt.wins,
        net_pnl=tt.net,
        gross_profit=tt.gross_profit,
        gross_loss=tt.gross_loss,
        fees=tt.fees,
        reward_risk_sum=tt.reward_risk,
        fills=len(fills),
        volume_usd=volume_usd,
        volume_other=dict(sorted(volume_other.items())),
        pnl_by_account=dict(sorted(tt.by_account.items())),
        strategies=sorted(
            (StrategyLine(name, n, w, p, q) for (name, q), (n, w, p) in tt.strategies.items()),
            key=lambda s: (-s.pnl, s.strategy, s.quote),
        ),
        orders_by_status=dict(sorted(orders.items())),
        refusals_by_code=dict(sorted(refusals.items())),
        breaker_trips=trips,
        incidents=found_incidents,
        equity_curve=curve,
        start_equity=start_eq,
        end_equity=end_eq,
        daily_returns=growth.daily_returns,
        time_weighted_return=growth.total_return,
        max_drawdown=growth.max_drawdown,
        quotes=quotes,
        pnl_by_quote=dict(sorted(tt.pnl_by_quote.items())),
        fees_by_quote=dict(sorted(tt.fees_by_quote.items())),
        volume_by_quote=dict(sorted(volume_by_quote.items())),
        start_equity_by_quote=first_by_quote,
        end_equity_by_quote=last_by_quote,
        net_flows=eq.net_flows(flows, quotes, start, end),
        up_ms=up.up_ms,
        uptime_starts=up.spans,
        llm_calls=cost.calls,
        llm_cost_usd=cost.cost_usd,
        solana=swaps,
    )


@dataclass(slots=True)
class _TradeTotals:
    """The closed trades' sums: overall, per strategy and quote, per account, per quote."""

    wins: int = 0
    net: Decimal = ZERO
    gross_profit: Decimal = ZERO
    gross_loss: Decimal = ZERO
    fees: Decimal = ZERO
    reward_risk: Decimal = ZERO
    strategies: dict[tuple[str, str], list[Any]] = field(
        default_factory=lambda: defaultdict(lambda: [0, 0, ZERO])
    )
    by_account: dict[str, Decimal] = field(default_factory=lambda: defaultdict(lambda: ZERO))
    pnl_by_quote: dict[str, Decimal] = field(default_factory=lambda: defaultdict(lambda: ZERO))
    fees_by_quote: dict[str, Decimal] = field(default_factory=lambda: defaultdict(lambda: ZERO))


def _trade_totals(trades: Sequence[Any]) -> _TradeTotals:
    tt = _TradeTotals()
    for t in trades:
        pnl = t.pnl
        tt.net += pnl
        tt.fees += t.fees
        tt.pnl_by_quote[quote_of(t.symbol)] += pnl
        tt.fees_by_quote[quote_of(t.symbol)] += t.fees
        if pnl > ZERO:
            tt.wins += 1
            tt.gross_profit += pnl
        else:
            tt.gross_loss -= pnl
        tt.reward_risk += _planned_reward_risk(t.entry_price, t.stop_loss, t.take_profit)
        line = tt.strategies[(t.strategy, quote_of(t.symbol))]
        line[0] += 1
        line[1] += 1 if pnl > ZERO else 0
        line[2] += pnl
        tt.by_account[t.account_id] += pnl
    return tt


def _volumes(
    fills: Sequence[Any],
) -> tuple[Decimal, dict[str, Decimal], dict[str, Decimal]]:
    """Traded value: in USD quotes together, in other quotes apart, and per quote."""
    volume_usd = ZERO
    volume_other: dict[str, Decimal] = defaultdict(lambda: ZERO)
    volume_by_quote: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for symbol, qty, price in fills:
        quote = quote_of(symbol)
        volume_by_quote[quote] += qty * price
        if quote in USD_QUOTES:
            volume_usd += qty * price
        else:
            volume_other[quote] += qty * price
    return volume_usd, volume_other, volume_by_quote


def _planned_reward_risk(entry: Decimal, stop: Decimal, target: Decimal) -> Decimal:
    # The same definition as ClosedTrade.planned_reward_risk (long positions only).
    distance = entry - stop
    return (target - entry) / distance if distance > ZERO else ZERO


def _trades(conn: sa.Connection, start: int, end: int, account: str | None) -> Sequence[Any]:
    t = m.trades
    stmt = sa.select(
        t.c.account_id,
        t.c.symbol,
        t.c.strategy,
        t.c.pnl,
        t.c.fees,
        t.c.entry_price,
        t.c.stop_loss,
        t.c.take_profit,
    ).where(t.c.closed_at >= start, t.c.closed_at < end)
    return conn.execute(_where_account(stmt, t.c.account_id, account).order_by(t.c.id)).all()


def _fills(conn: sa.Connection, start: int, end: int, account: str | None) -> Sequence[Any]:
    f = m.fills
    stmt = sa.select(f.c.symbol, f.c.qty, f.c.price).where(f.c.ts >= start, f.c.ts < end)
    return conn.execute(_where_account(stmt, f.c.account_id, account)).all()


def _orders(conn: sa.Connection, start: int, end: int, account: str | None) -> dict[str, int]:
    o = m.orders
    stmt = (
        sa.select(o.c.status, sa.func.count())
        .where(o.c.created_at >= start, o.c.created_at < end)
        .group_by(o.c.status)
    )
    rows = conn.execute(_where_account(stmt, o.c.account_id, account)).all()
    return {str(status): int(n) for status, n in rows}


def _refusals(conn: sa.Connection, start: int, end: int, account: str | None) -> dict[str, int]:
    r = m.rejections
    stmt = (
        sa.select(r.c.code, sa.func.count()).where(r.c.ts >= start, r.c.ts < end).group_by(r.c.code)
    )
    rows = conn.execute(_where_account(stmt, r.c.account_id, account)).all()
    return {str(code): int(n) for code, n in rows}


def _breaker_trips(conn: sa.Connection, start: int, end: int, account: str | None) -> int:
    e = m.account_events
    stmt = (
        sa.select(sa.func.count())
        .select_from(e)
        .where(e.c.kind == "breaker", e.c.ts >= start, e.c.ts < end)
    )
    return int(conn.execute(_where_account(stmt, e.c.scope, account)).scalar_one())


def _incidents(conn: sa.Connection, start: int, end: int) -> list[IncidentLine]:
    i = m.incidents
    stmt = (
        sa.select(i.c.id, i.c.severity, i.c.rule, i.c.status, i.c.summary, i.c.opened_at)
        .where(i.c.opened_at >= start, i.c.opened_at < end)
        .order_by(i.c.severity, i.c.opened_at, i.c.id)
    )
    return [IncidentLine(*row) for row in conn.execute(stmt).all()]


def _quotes(conn: sa.Connection, account: str | None) -> dict[str, str]:
    """Each account's quote asset (the currency its equity and PnL are in)."""
    a = m.accounts
    stmt = _where_account(sa.select(a.c.account_id, a.c.quote), a.c.account_id, account)
    return {str(acct): str(quote).upper() for acct, quote in conn.execute(stmt).all()}

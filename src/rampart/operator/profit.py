"""Profit figures of one account from its closed trades: today, this week, all time, per day
and per week, win rate, best and worst trade.

Pure functions over :class:`ClosedTrade` lists, so the API's ``/profit`` and the bot's
``/profit``, ``/daily`` and ``/weekly`` show the same numbers (both call
:meth:`rampart.operator.views.InvestorViews.profit`). Days are UTC days of the service's
business clock as people read it (on the paper demo, the wall days its simulated 2024 times
stand for: :func:`rampart.clock.shown_ms`), and an account's days start on the day it was
created: nothing is listed before it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal

from rampart.clock import shown_ms
from rampart.domain.exits import exit_cause  # noqa: F401  (the trade views read it here)
from rampart.domain.money import ZERO
from rampart.domain.positions import ClosedTrade

DAY_MS = 86_400_000
WEEK_MS = 7 * DAY_MS
MONDAY_OFFSET_MS = 3 * DAY_MS
"""1970-01-01 was a Thursday: the first Monday on or before it is 3 days earlier."""
MAX_DAYS = 90
MAX_WEEKS = 52


def day_start(ts: int) -> int:
    return ts // DAY_MS * DAY_MS


def week_start(ts: int) -> int:
    """The Monday 00:00 UTC that begins the ISO week holding ``ts``."""
    return (ts + MONDAY_OFFSET_MS) // WEEK_MS * WEEK_MS - MONDAY_OFFSET_MS


@dataclass(frozen=True, slots=True)
class PeriodPnl:
    """Realised PnL of the trades that closed in one period [start, end)."""

    start: int
    end: int
    realized_pnl: Decimal
    trades: int
    wins: int


@dataclass(frozen=True, slots=True)
class ProfitFigures:
    realized_today: Decimal
    realized_week: Decimal
    realized_all: Decimal
    trades: int
    wins: int
    losses: int
    win_rate: Decimal | None
    """Winning trades / closed trades, in [0, 1]; None before the first trade closes."""
    fees: Decimal
    best: ClosedTrade | None
    worst: ClosedTrade | None
    days: list[PeriodPnl]
    """The last ``days`` business days up to today, newest first, none before the account."""
    weeks: list[PeriodPnl]
    """The last ``weeks`` ISO weeks (Monday to Sunday) up to this one, newest first."""


def _periods(starts: Iterable[int], length: int, trades: Sequence[ClosedTrade]) -> list[PeriodPnl]:
    result = []
    for start in starts:
        inside = [t for t in trades if start <= t.closed_at < start + length]
        result.append(
            PeriodPnl(
                start=start,
                end=start + length,
                realized_pnl=sum((t.pnl for t in inside), ZERO),
                trades=len(inside),
                wins=sum(1 for t in inside if t.pnl > ZERO),
            )
        )
    return result


def summarize(
    trades: Sequence[ClosedTrade],
    now_ms: int,
    created_ms: int,
    days: int = 7,
    weeks: int = 4,
) -> ProfitFigures:
    """Every figure from all of the account's closed trades at business time ``now_ms``.

    ``created_ms`` is when the account began: the day and week lists stop there (an account
    created today lists one day, today). A trade wins when its PnL after fees is above zero.
    Days and weeks are those people lived: on a simulated feed (the /demo) the wall days its
    times stand for, not the replay's (:func:`rampart.clock.shown_ms`).
    """
    now_ms, created_ms = shown_ms(now_ms), shown_ms(created_ms)
    lived = [replace(t, closed_at=shown_ms(t.closed_at)) for t in trades]
    today = day_start(now_ms)
    this_week = week_start(now_ms)
    first_day = day_start(min(created_ms, now_ms))
    first_week = week_start(min(created_ms, now_ms))
    day_starts = [d for d in (today - i * DAY_MS for i in range(days)) if d >= first_day]
    week_starts = [w for w in (this_week - i * WEEK_MS for i in range(weeks)) if w >= first_week]
    wins = sum(1 for t in trades if t.pnl > ZERO)
    ranked = sorted(trades, key=lambda t: (t.pnl, t.closed_at))
    return ProfitFigures(
        realized_today=sum((t.pnl for t in lived if t.closed_at >= today), ZERO),
        realized_week=sum((t.pnl for t in lived if t.closed_at >= this_week), ZERO),
        realized_all=sum((t.pnl for t in trades), ZERO),
        trades=len(trades),
        wins=wins,
        losses=len(trades) - wins,
        win_rate=Decimal(wins) / Decimal(len(trades)) if trades else None,
        fees=sum((t.fees for t in trades), ZERO),
        best=ranked[-1] if ranked else None,
        worst=ranked[0] if ranked else None,
        days=_periods(day_starts, DAY_MS, lived),
        weeks=_periods(week_starts, WEEK_MS, lived),
    )


@dataclass(frozen=True, slots=True)
class SymbolPnl:
    """Realised PnL of one symbol's closed trades (Freqtrade's ``/performance``)."""

    symbol: str
    realized_pnl: Decimal
    trades: int
    wins: int


def per_symbol(trades: Sequence[ClosedTrade]) -> list[SymbolPnl]:
    """Each traded symbol's realised PnL after fees, best first (ties: by name)."""
    grouped: dict[str, list[ClosedTrade]] = {}
    for t in trades:
        grouped.setdefault(t.symbol, []).append(t)
    found = [
        SymbolPnl(
            symbol=symbol,
            realized_pnl=sum((t.pnl for t in closed), ZERO),
            trades=len(closed),
            wins=sum(1 for t in closed if t.pnl > ZERO),
        )
        for symbol, closed in grouped.items()
    ]
    return sorted(found, key=lambda p: (-p.realized_pnl, p.symbol))

"""Equity over a report's window, and performance net of deposits and withdrawals.

Money an investor puts in is not growth and money taken out is not a loss, so returns are
time-weighted: the window is cut at every equity snapshot; each step's return is the change
of the accounts' equity net of the capital that moved in it, over the equity it started from,
a flow counted for the share of the step after it (Modified Dietz: a flow at the step's start
counts whole, one at its end not at all); the steps are chained into an index that starts at
1. The bot values the account when capital moves (a snapshot just before the change), so
each flow sits at a step's start and the chain is the exact time-weighted return.

An account whose first snapshot falls in the window joins the index from that snapshot: its
capital is not a return either. Daily returns (for Sharpe) are the index's change over each
UTC day, the window's return its change over the window, max drawdown its largest fall from
a peak.

The equity curve itself (the chart, "equity start → end") is the plain sum of the accounts'
latest equity, deposits included: it is what the accounts hold.
"""

from __future__ import annotations

import bisect
import itertools
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from rampart.reports.period import DAY_MS
from rampart.reports.summary import max_drawdown
from rampart.store import models as m

ZERO = Decimal(0)
CAPITAL = "capital"
"""The ``account_events`` kind of a deposit or withdrawal (old and new capital)."""

Snapshot = tuple[str, int, Decimal]
"""(account, ts, equity)."""
Flow = tuple[str, int, Decimal]
"""(account, ts, amount): put in (+) or taken out (−)."""


def _where_account(stmt: Any, column: Any, account: str | None) -> Any:
    return stmt if account is None else stmt.where(column == account)


def read_snapshots(
    conn: sa.Connection, start: int, end: int, account: str | None
) -> tuple[dict[str, tuple[int, Decimal]], list[Snapshot]]:
    """Each account's last snapshot before ``start`` (its time and equity), and every snapshot
    in the window, in time order."""
    e = m.equity_snapshots
    latest = sa.select(e.c.account_id, sa.func.max(e.c.ts).label("ts")).where(e.c.ts < start)
    latest = _where_account(latest, e.c.account_id, account).group_by(e.c.account_id).subquery()
    before = sa.select(e.c.account_id, e.c.ts, e.c.equity, e.c.id).join(
        latest, sa.and_(e.c.account_id == latest.c.account_id, e.c.ts == latest.c.ts)
    )
    carried: dict[str, tuple[int, Decimal]] = {}
    rows: Any = conn.execute(before.order_by(e.c.id)).all()  # (str, int, Decimal, int)
    for acct, ts, equity, _ in rows:
        carried[acct] = (int(ts), equity)  # the newest row wins when two share a timestamp
    stmt = sa.select(e.c.account_id, e.c.ts, e.c.equity).where(e.c.ts >= start, e.c.ts < end)
    stmt = _where_account(stmt, e.c.account_id, account).order_by(e.c.ts, e.c.id)
    rows = conn.execute(stmt).all()
    return carried, [(a, int(ts), eq) for a, ts, eq in rows]


def read_flows(conn: sa.Connection, since: int, end: int, account: str | None) -> list[Flow]:
    """Deposits (+) and withdrawals (−) with ``since <= ts < end``, in time order."""
    e = m.account_events
    stmt = sa.select(e.c.scope, e.c.ts, e.c.old, e.c.new).where(
        e.c.kind == CAPITAL, e.c.ts >= since, e.c.ts < end
    )
    stmt = _where_account(stmt, e.c.scope, account).order_by(e.c.ts, e.c.id)
    flows = []
    rows: Any = conn.execute(stmt).all()  # (str, int, str, str)
    for acct, ts, old, new in rows:
        try:
            flows.append((str(acct), int(ts), Decimal(new) - Decimal(old)))
        except ArithmeticError:  # a row no capital change wrote: not money that moved
            continue
    return flows


def equity_curve(
    carried: dict[str, tuple[int, Decimal]], snapshots: Sequence[Snapshot], start: int
) -> tuple[list[tuple[int, float]], Decimal | None, Decimal | None]:
    """The summed equity at ``start`` (the carried snapshots) and at each snapshot's time, and
    the first and last totals."""
    latest = {a: eq for a, (_, eq) in carried.items()}
    curve: list[tuple[int, float]] = []
    if latest:
        curve.append((start, float(sum(latest.values(), ZERO))))
    first = sum(latest.values(), ZERO) if latest else None
    previous_ts: int | None = None
    for acct, ts, equity in snapshots:
        latest[acct] = equity
        total = sum(latest.values(), ZERO)
        if first is None:
            first = total
        if ts == previous_ts:  # accounts snapshotted at the same time make one point
            curve[-1] = (ts, float(total))
        else:
            curve.append((ts, float(total)))
        previous_ts = ts
    last = sum(latest.values(), ZERO) if latest else None
    return curve, first, last


@dataclass(frozen=True, slots=True)
class Growth:
    """The time-weighted index of a window: (ts, value) from 1 where the first account is."""

    index: list[tuple[int, float]]
    start: int
    end: int
    carried: bool
    """Accounts existed before the window: the index is 1 at its start."""

    def at(self, ts: int) -> float | None:
        """The index just before ``ts`` (a snapshot at ``ts`` belongs to what follows)."""
        if ts <= self.start:
            return 1.0 if self.carried else None
        i = bisect.bisect_left(self.index, (ts, float("-inf")))
        return self.index[i - 1][1] if i > 0 else None

    @property
    def total_return(self) -> float | None:
        last = self.at(self.end)
        return None if last is None or not self.index else last / self.index[0][1] - 1

    @property
    def daily_returns(self) -> list[float]:
        marks = [self.at(b) for b in range(self.start, self.end + 1, DAY_MS)]
        return [b / a - 1 for a, b in itertools.pairwise(marks) if a and b is not None]

    @property
    def max_drawdown(self) -> float | None:
        return max_drawdown(v for _, v in self.index) if self.index else None


def growth(
    carried: dict[str, tuple[int, Decimal]],
    snapshots: Sequence[Snapshot],
    flows: Sequence[Flow],
    start: int,
    end: int,
) -> Growth:
    """The index of the window, net of ``flows`` (see the module's docstring)."""
    by_account: dict[str, list[tuple[int, Decimal]]] = defaultdict(list)
    for acct, ts, amount in flows:
        by_account[acct].append((ts, amount))
    latest = dict(carried)
    value = 1.0
    index: list[tuple[int, float]] = [(start, value)] if latest else []
    for ts, group in itertools.groupby(snapshots, key=lambda s: s[1]):
        now = {acct: equity for acct, _, equity in group}  # the newest of a shared time wins
        gain = base = ZERO
        for acct, (since, before) in latest.items():
            base += before
            if acct in now:
                moved, weighted = _flows_in(by_account[acct], since, ts)
                gain += now[acct] - before - moved
                base += weighted
        latest.update((acct, (ts, equity)) for acct, equity in now.items())
        if not index:
            index.append((ts, value))  # the first account: the index starts here
            continue
        if base > ZERO:
            value *= 1 + float(gain / base)
        index.append((ts, value))
    return Growth(index, start, end, carried=bool(carried))


def _flows_in(flows: list[tuple[int, Decimal]], since: int, until: int) -> tuple[Decimal, Decimal]:
    """The capital moved in ``[since, until)``, and the same weighted by the share of the step
    after each flow."""
    moved = weighted = ZERO
    span = Decimal(until - since)
    for ts, amount in flows:
        if since <= ts < until:
            moved += amount
            weighted += amount * Decimal(until - ts) / span
    return moved, weighted


def net_flows(
    flows: Sequence[Flow], quotes: dict[str, str], start: int, end: int
) -> dict[str, Decimal]:
    """Capital put in minus taken out in the window, per quote asset."""
    found: dict[str, Decimal] = {}
    for acct, ts, amount in flows:
        if start <= ts < end:
            quote = quotes.get(acct, "")
            found[quote] = found.get(quote, ZERO) + amount
    return found


def by_quote(
    carried: dict[str, tuple[int, Decimal]], snapshots: Sequence[Snapshot], quotes: dict[str, str]
) -> tuple[dict[str, Decimal], dict[str, Decimal]]:
    """Equity per quote asset at the window's start (or an account's first snapshot) and end."""
    first: dict[str, Decimal] = {a: eq for a, (_, eq) in carried.items()}
    last = dict(first)
    for acct, _, equity in snapshots:
        first.setdefault(acct, equity)
        last[acct] = equity

    def total(per_account: dict[str, Decimal]) -> dict[str, Decimal]:
        out: dict[str, Decimal] = {}
        for acct, equity in per_account.items():
            quote = quotes.get(acct, "")
            out[quote] = out.get(quote, ZERO) + equity
        return dict(sorted(out.items()))

    return total(first), total(last)

"""People figures read from the store: the investor funnel, weekly cohorts and retention, active
investors, churn and satisfaction. Counts only: nothing here names an investor.

Definitions (the weekly report's footnote and docs/operators/people.md repeat them):

- an *investor* is a row of ``investors`` (someone who sent the bot /start); operator accounts
  are not investors;
- funnel, each stage counting investors who reached it (a later stage implies the earlier ones):
  *started* (/start), *connected* (an exchange key or wallet stored, or a paper or demo account
  chosen), *invested* (their account exists: /invest or /demo started it), *traded* (at least
  one fill on their account);
- an investor is *active* in a window when their account placed an order in it or was running
  in it (the engine snapshots a running account's equity every hour);
- a *cohort* is the investors whose /start fell in one ISO week (Monday 00:00 UTC); its week k
  retention is the share of the cohort active in the k-th week after that one (k = 1 … 4),
  counted once the week has ended;
- *week 1 → week 4 retention* (the launch plans want > 50 %): of the investors of every cohort
  whose fourth week has ended who were active in their first week, the share active in their
  fourth;
- *churn*: of the investors active in the 7 days before the last 7, the share not active in the
  last 7;
- *satisfaction* (the plans want > 90 % after the first month): the share of feedback scores of
  4 or 5 among the scores given in the window.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from rampart.store import models as m
from rampart.store.errors import translating
from rampart.store.models.people import feedback

DAY_MS = 86_400_000
WEEK_MS = 7 * DAY_MS
MONDAY_OFFSET_MS = 4 * DAY_MS
"""The epoch (1970-01-01) was a Thursday: weeks shifted by four days start on Mondays."""
RETENTION_WEEKS = 4
COHORT_WEEKS = 12
"""Cohorts shown: those of the last twelve weeks."""
SATISFIED = 4
"""A score of 4 or 5 (of 5) counts as satisfied."""
STAGES = ("started", "connected", "invested", "traded")


@dataclass(frozen=True, slots=True)
class Funnel:
    started: int = 0
    connected: int = 0
    invested: int = 0
    traded: int = 0

    def as_dict(self) -> dict[str, int]:
        return {stage: getattr(self, stage) for stage in STAGES}


@dataclass(frozen=True, slots=True)
class Cohort:
    week_start: int
    """The Monday 00:00 UTC its investors started in (UTC ms)."""
    size: int
    active: tuple[int | None, ...]
    """Investors of the cohort active in week 1 … 4 after it; None while that week runs."""

    def retention(self, k: int) -> float | None:
        found = self.active[k - 1]
        return None if found is None or not self.size else found / self.size

    def as_dict(self) -> dict[str, Any]:
        return {"week_start": self.week_start, "size": self.size, "active": list(self.active)}


@dataclass(frozen=True, slots=True)
class Satisfaction:
    responses: int = 0
    satisfied: int = 0
    score_sum: int = 0

    @property
    def share(self) -> float | None:
        return self.satisfied / self.responses if self.responses else None

    @property
    def average(self) -> float | None:
        return self.score_sum / self.responses if self.responses else None


@dataclass(frozen=True, slots=True)
class PeopleFigures:
    at: int
    """Business time the figures are for (UTC ms)."""
    funnel: Funnel = field(default_factory=Funnel)
    cohorts: tuple[Cohort, ...] = ()
    active: int = 0
    """Investors active in the last 7 days."""
    active_before: int = 0
    """Investors active in the 7 days before those."""
    churned: int = 0
    week1_active: int = 0
    """Investors of the cohorts whose fourth week has ended who were active in their first."""
    week1_week4_kept: int = 0
    """Of those, how many were active in their fourth week too."""
    satisfaction: Satisfaction = field(default_factory=Satisfaction)
    new_investors: int = 0
    """Investors who started in the window the figures were asked for."""

    @property
    def churn(self) -> float | None:
        return self.churned / self.active_before if self.active_before else None

    @property
    def retention_w1_w4(self) -> float | None:
        return self.week1_week4_kept / self.week1_active if self.week1_active else None

    def as_dict(self) -> dict[str, Any]:
        return {
            "at": self.at,
            "funnel": self.funnel.as_dict(),
            "cohorts": [c.as_dict() for c in self.cohorts],
            "active": self.active,
            "active_before": self.active_before,
            "churned": self.churned,
            "churn": self.churn,
            "retention_w1_w4": self.retention_w1_w4,
            "satisfaction_responses": self.satisfaction.responses,
            "satisfaction_share": self.satisfaction.share,
            "satisfaction_average": self.satisfaction.average,
            "new_investors": self.new_investors,
        }


def week_of(ts: int) -> int:
    """The index of the Monday-to-Sunday week holding ``ts`` (week 0 began 1970-01-05 less 7)."""
    return (ts - MONDAY_OFFSET_MS) // WEEK_MS


def week_start(index: int) -> int:
    return index * WEEK_MS + MONDAY_OFFSET_MS


def operator_ids(settings: Any) -> tuple[int, ...]:
    """The operators' Telegram ids (``telegram.operator_ids``): an operator who sent /start has
    an investor row, and is no investor (else the funnel counts the operator)."""
    telegram = getattr(settings, "telegram", None)
    return tuple(int(i) for i in getattr(telegram, "operator_ids", ()) or ())


def _investors(
    conn: sa.Connection, now_ms: int, operators: Iterable[int] = ()
) -> dict[str, tuple[int, str]]:
    """account id → (when they started, mode), for investors who started by ``now_ms``
    (``operators``' Telegram ids left out)."""
    t = m.investors
    query = sa.select(t.c.account_id, t.c.created_at, t.c.mode).where(t.c.created_at <= now_ms)
    skip = sorted(set(operators))
    if skip:
        query = query.where(t.c.telegram_id.notin_(skip))
    rows = conn.execute(query).all()
    return {str(r.account_id): (int(r.created_at), str(r.mode or "")) for r in rows}


def _within(column: Any, accounts: Iterable[str]) -> Any:
    return column.in_(sorted(accounts))


def _funnel(conn: sa.Connection, investors: dict[str, tuple[int, str]], now_ms: int) -> Funnel:
    if not investors:
        return Funnel()
    ids = investors.keys()
    keyed: set[str] = set(
        conn.execute(
            sa.select(m.credentials.c.account_id).where(
                _within(m.credentials.c.account_id, ids), m.credentials.c.created_at <= now_ms
            )
        ).scalars()
    )
    opened: set[str] = set(
        conn.execute(
            sa.select(m.accounts.c.account_id).where(
                _within(m.accounts.c.account_id, ids), m.accounts.c.created_at <= now_ms
            )
        ).scalars()
    )
    traded: set[str] = set(
        conn.execute(
            sa.select(m.fills.c.account_id)
            .where(_within(m.fills.c.account_id, ids), m.fills.c.ts <= now_ms)
            .distinct()
        ).scalars()
    )
    invested = opened | traded
    connected = {a for a, (_, mode) in investors.items() if mode} | keyed | invested
    return Funnel(len(investors), len(connected), len(invested), len(traded))


def _active_weeks(
    conn: sa.Connection, accounts: Iterable[str], since: int, until: int
) -> dict[str, set[int]]:
    """account id → the weeks (indices) in ``[since, until)`` it was active in."""
    found: dict[str, set[int]] = defaultdict(set)
    ids = sorted(accounts)
    if not ids:
        return found
    for ts, account in (
        (m.orders.c.created_at, m.orders.c.account_id),
        (m.equity_snapshots.c.ts, m.equity_snapshots.c.account_id),
    ):
        week = (ts - MONDAY_OFFSET_MS) // WEEK_MS
        query = (
            sa.select(account, week)
            .where(account.in_(ids), ts >= since, ts < until)
            .group_by(account, week)
        )
        for row in conn.execute(query).all():
            found[str(row[0])].add(int(row[1]))
    return found


def _active_between(conn: sa.Connection, accounts: Iterable[str], start: int, end: int) -> set[str]:
    ids = sorted(accounts)
    if not ids:
        return set()
    found: set[str] = set()
    for ts, account in (
        (m.orders.c.created_at, m.orders.c.account_id),
        (m.equity_snapshots.c.ts, m.equity_snapshots.c.account_id),
    ):
        query = sa.select(account).where(account.in_(ids), ts >= start, ts < end).distinct()
        rows: Sequence[Any] = conn.execute(query).all()
        found |= {str(row[0]) for row in rows}
    return found


def _cohorts(
    conn: sa.Connection, investors: dict[str, tuple[int, str]], now_ms: int, weeks: int
) -> tuple[tuple[Cohort, ...], int, int]:
    """The cohorts of the last ``weeks`` weeks, and the week 1 → week 4 counts."""
    current = week_of(now_ms)
    first = current - weeks + 1
    members: dict[int, list[str]] = defaultdict(list)
    for account, (started, _) in investors.items():
        members[week_of(started)].append(account)
    # Week 1 → week 4 looks at every cohort old enough, not only the ones shown.
    oldest = min(members, default=current)
    activity = _active_weeks(conn, investors, week_start(min(oldest, first)), now_ms)
    cohorts = []
    for index in range(first, current + 1):
        people = members.get(index, [])
        active: list[int | None] = []
        for k in range(1, RETENTION_WEEKS + 1):
            ended = week_start(index + k + 1) <= now_ms
            active.append(
                sum(1 for a in people if index + k in activity.get(a, ())) if ended else None
            )
        cohorts.append(Cohort(week_start(index), len(people), tuple(active)))
    week1 = kept = 0
    for index, people in members.items():
        if week_start(index + RETENTION_WEEKS + 1) > now_ms:
            continue
        for account in people:
            weeks_active = activity.get(account, set())
            if index + 1 in weeks_active:
                week1 += 1
                kept += index + RETENTION_WEEKS in weeks_active
    return tuple(reversed(cohorts)), week1, kept


def satisfaction(engine: sa.Engine, start: int, end: int) -> Satisfaction:
    """Feedback scores given in ``[start, end)``."""
    query = sa.select(
        sa.func.count(),
        sa.func.coalesce(sa.func.sum(sa.case((feedback.c.score >= SATISFIED, 1), else_=0)), 0),
        sa.func.coalesce(sa.func.sum(feedback.c.score), 0),
    ).where(feedback.c.ts >= start, feedback.c.ts < end)
    with translating("Reading feedback from the database failed"), engine.connect() as conn:
        row = conn.execute(query).one()
    return Satisfaction(int(row[0]), int(row[1]), int(row[2]))


def people_figures(
    engine: sa.Engine,
    now_ms: int,
    *,
    since_ms: int | None = None,
    until_ms: int | None = None,
    feedback_days: int = 30,
    weeks: int = COHORT_WEEKS,
    operators: Iterable[int] = (),
) -> PeopleFigures:
    """The people figures at ``now_ms``. ``[since_ms, until_ms)``: the window new investors
    are counted in (default: the last 7 days up to ``now_ms``); satisfaction covers the last
    ``feedback_days``. ``operators``: Telegram ids that are not investors."""
    window_start = now_ms - WEEK_MS if since_ms is None else since_ms
    window_end = now_ms if until_ms is None else min(until_ms, now_ms)
    with translating("Reading the investors from the database failed"), engine.connect() as conn:
        investors = _investors(conn, now_ms, operators)
        funnel = _funnel(conn, investors, now_ms)
        cohorts, week1, kept = _cohorts(conn, investors, now_ms, weeks)
        current = _active_between(conn, investors, now_ms - WEEK_MS, now_ms)
        before = _active_between(conn, investors, now_ms - 2 * WEEK_MS, now_ms - WEEK_MS)
    new = sum(1 for started, _ in investors.values() if window_start <= started < window_end)
    return PeopleFigures(
        at=now_ms,
        funnel=funnel,
        cohorts=cohorts,
        active=len(current),
        active_before=len(before),
        churned=len(before - current),
        week1_active=week1,
        week1_week4_kept=kept,
        satisfaction=satisfaction(engine, now_ms - feedback_days * DAY_MS, now_ms),
        new_investors=new,
    )

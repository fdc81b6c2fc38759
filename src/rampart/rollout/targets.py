"""The launch plans' targets after launch, as report lines of GO/NO-GO with their windows:
open beta's first week without a P0 (plan 000's exit criterion 3), month one's 99.95 %
uptime, fewer than 2 P1 incidents and satisfaction above 90 % (plan 004's "Month 1"), the
investors trading in month one (plan 000's "10+ users", ``rollout.targets.users``) and the
week 1 → week 4 retention (plan 001's "> 50 %", ``rollout.targets.retention``).

Report lines, not gates: they judge a window that is over (or already lost), so they neither
block a promotion nor roll one back; a window still running reads ``inconclusive`` with the
figure so far, unless the target is already missed (a second P1, a P0).

Windows: week one runs 7 days from the first time the ``open`` stage was entered (with the
rollout off, from the service's first uptime span: it trades on the open stage from its start,
and the line would otherwise never conclude); month one runs 30 days from the launch, the rollout's
first transition (or, with the rollout off, the service's first uptime span).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from rampart.domain.stages import OPEN_STAGE
from rampart.rollout.measure_launch import incidents_in_window, users_trading
from rampart.rollout.rules.gates import Verdict
from rampart.rollout.settings import LaunchTargetsConfig
from rampart.store.models.ops import uptime_spans
from rampart.store.models.rollout import rollout_transitions
from rampart.store.ops_records import uptime
from rampart.store.people import people_figures, satisfaction

DAY_MS = 24 * 3_600_000
WEEK_ONE_MS = 7 * DAY_MS
MONTH_ONE_MS = 30 * DAY_MS
MONTH_UPTIME = 0.9995
MONTH_P1_BELOW = 2
SATISFIED_ABOVE = 0.9
MONTH_ONE_LINES = (
    "month one uptime",
    "month one P1 incidents",
    "month one satisfaction",
    "month one users trading",
)


@dataclass(frozen=True, slots=True)
class Target:
    name: str
    window: str
    measured: str
    threshold: str
    verdict: Verdict
    detail: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": "target",
            "window": self.window,
            "measured": self.measured,
            "threshold": self.threshold,
            "verdict": self.verdict.value,
            "detail": self.detail,
        }


def _first(db: sa.Engine, stage: str | None) -> int | None:
    t = rollout_transitions
    query = sa.select(sa.func.min(t.c.ts))
    if stage is not None:
        query = query.where(t.c.to_stage == stage)
    with db.connect() as conn:
        found = conn.execute(query).scalar()
        if found is None and stage is None:
            found = conn.execute(sa.select(sa.func.min(uptime_spans.c.started_at))).scalar()
    return int(found) if found is not None else None


def _opened(db: sa.Engine) -> int | None:
    """When open beta began: the open stage's first entry, or, with the rollout never on (no
    transition at all), the service's launch."""
    opened = _first(db, OPEN_STAGE.name)
    if opened is not None:
        return opened
    with db.connect() as conn:
        ever = conn.execute(sa.select(sa.func.min(rollout_transitions.c.ts))).scalar()
    return _first(db, None) if ever is None else None


def _window(start: int, length: int, now: int, fmt: Any) -> tuple[int, bool, str]:
    """(the window's end so far, whether it is over, its words)."""
    end = min(start + length, now)
    over = now >= start + length
    days = (end - start) / DAY_MS
    words = f"{fmt(start)} + {length // DAY_MS} d" + ("" if over else f" ({days:.1f} d so far)")
    return end, over, words


def _count_line(
    name: str, db: sa.Engine, severity: str, below: int, window: tuple[int, int, bool, str]
) -> Target:
    start, end, over, words = window
    count = int(incidents_in_window(db, severity, start, end).value or 0)
    missed, met = count >= below, over and count < below
    verdict = Verdict.FAIL if missed else (Verdict.PASS if met else Verdict.INCONCLUSIVE)
    return Target(name, words, f"{count} {severity}", f"< {below}", verdict)


def _users(db: sa.Engine, goal: int, window: tuple[int, int, bool, str]) -> Target:
    """Investors trading in month one: met once ``goal`` traded, missed when it ends short."""
    start, end, over, words = window
    count = int(users_trading(db, start, max(end, start + 1)).value or 0)
    verdict = Verdict.PASS if count >= goal else (Verdict.FAIL if over else Verdict.INCONCLUSIVE)
    return Target("month one users trading", words, f"{count} investor(s)", f">= {goal}", verdict,
                  "investors with an order placed")  # fmt: skip


def _retention(db: sa.Engine, above: float, now: int) -> Target:
    """Week 1 → week 4 retention of the cohorts whose fourth week has ended, as it is now."""
    figures = people_figures(db, now)
    share = figures.retention_w1_w4
    if share is None:
        return Target("retention week 1 → week 4", "cohorts with a fourth week ended", "none yet",
                      f"> {above:.0%}", Verdict.INCONCLUSIVE)  # fmt: skip
    kept = f"{share:.0%} ({figures.week1_week4_kept} of {figures.week1_active})"
    verdict = Verdict.PASS if share > above else Verdict.FAIL
    return Target("retention week 1 → week 4", "cohorts with a fourth week ended", kept,
                  f"> {above:.0%}", verdict)  # fmt: skip


def launch_targets(
    db: sa.Engine,
    now: int,
    grace_ms: int,
    fmt: Any = str,
    goals: LaunchTargetsConfig | None = None,
) -> tuple[Target, ...]:
    """Every post-launch target over its window; ``fmt`` shows a timestamp (ms); ``goals``
    the users and retention to reach (``rollout.targets``)."""
    goals = goals or LaunchTargetsConfig()
    lines: list[Target] = []
    opened = _opened(db)
    if opened is None or opened > now:
        lines.append(
            Target("open beta week one: no P0", "open stage not entered", "—", "0 P0",
                   Verdict.INCONCLUSIVE, "measured once the open stage starts")
        )  # fmt: skip
    else:
        end, over, words = _window(opened, WEEK_ONE_MS, now, fmt)
        lines.append(
            _count_line("open beta week one: no P0", db, "P0", 1, (opened, end, over, words))
        )
    launch = _first(db, None)
    if launch is None or launch > now:
        for name in MONTH_ONE_LINES:
            lines.append(Target(name, "not launched", "—", "—", Verdict.INCONCLUSIVE))
        lines.append(_retention(db, goals.retention, now))
        return tuple(lines)
    end, over, words = _window(launch, MONTH_ONE_MS, now, fmt)
    up = uptime(db, launch, max(end, launch + 1), grace_ms=grace_ms).fraction or 0.0
    verdict = Verdict.INCONCLUSIVE if not over else Verdict.PASS
    if over and up < MONTH_UPTIME:
        verdict = Verdict.FAIL
    lines.append(Target("month one uptime", words, f"{up:.3%}", f">= {MONTH_UPTIME:.2%}", verdict))
    lines.append(
        _count_line("month one P1 incidents", db, "P1", MONTH_P1_BELOW, (launch, end, over, words))
    )
    said = satisfaction(db, launch, end)
    share = said.share
    shown = "no answers" if share is None else f"{share:.0%} of {said.responses} answer(s)"
    if share is None or not over:
        verdict = Verdict.INCONCLUSIVE
    else:
        verdict = Verdict.PASS if share > SATISFIED_ABOVE else Verdict.FAIL
    lines.append(
        Target("month one satisfaction", words, shown, f"> {SATISFIED_ABOVE:.0%}", verdict,
               "feedback scores of 4 or 5 of 5")
    )  # fmt: skip
    lines.append(_users(db, goals.users, (launch, end, over, words)))
    lines.append(_retention(db, goals.retention, now))
    return tuple(lines)

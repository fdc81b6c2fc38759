"""A timed ramp inside a stage (plan 004: one symbol, three at T+8 h, the full capital at
T+20 h, watched to T+48 h): each step narrows the stage's symbols and caps the capital all
accounts together trade with, and the next step is taken only when its time has come AND the
stage's gates pass at that evaluation; otherwise it waits and the evaluation says why.

The steps taken are the ``ramp`` rows in ``rollout_transitions`` since the stage was entered
(no column of its own: the transition log is the record, audited like a stage move), so the
CLI, the API and every worker read the same step.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from rampart.rollout.ramp_step import RampStep as RampStep  # re-exported: the ramp's steps
from rampart.rollout.ramp_step import narrow as narrow
from rampart.rollout.rules.gates import TRADING_USERS, GateResult, Verdict
from rampart.rollout.state import RolloutState
from rampart.store.models.rollout import rollout_evaluations, rollout_transitions

RAMP = "ramp"
"""The transition kind of a ramp step (from and to the same stage)."""


def steps_taken(db: sa.Engine, stage: str, entered_at: int) -> int:
    """How many ramp steps past the first the stage has taken since it was entered."""
    t = rollout_transitions
    query = (
        sa.select(sa.func.count())
        .select_from(t)
        .where(t.c.kind == RAMP, t.c.to_stage == stage, t.c.ts >= entered_at)
    )
    with db.connect() as conn:
        return int(conn.execute(query).scalar_one())


def current(steps: tuple[RampStep, ...], taken: int) -> RampStep | None:
    """The step in force: the first one from the stage's start, then one per ramp row."""
    if not steps:
        return None
    return steps[min(taken, len(steps) - 1)]


def next_step(steps: tuple[RampStep, ...], taken: int) -> RampStep | None:
    return steps[taken + 1] if taken + 1 < len(steps) else None


def blockers(results: tuple[GateResult, ...], held: bool, hold_reason: str) -> list[str]:
    """Why a due step waits: a failing gate or a hold. A gate without enough samples yet does
    not hold it back (the first steps come before most gates have any), nor does the number
    of investors trading, which is about leaving the stage, not widening it."""
    reasons = [f"held: {hold_reason}"] if held else []
    reasons += [
        r.reason for r in results if r.verdict is Verdict.FAIL and r.gate.metric != TRADING_USERS
    ]
    return reasons


def waiting(step: RampStep, in_stage_ms: int, reasons: list[str]) -> str:
    """The sentence an evaluation stores when the next step is not taken."""
    if in_stage_ms < step.after_ms:
        hours = (step.after_ms - in_stage_ms) / 3_600_000
        return f"{step.describe()} is due in {hours:.1f} h"
    if not reasons:
        return f"{step.describe()} is due at the next evaluation"
    return f"{step.describe()} is due and waits: " + "; ".join(reasons)


def status(
    db: sa.Engine, state: RolloutState, steps: tuple[RampStep | None, RampStep | None], now: int
) -> dict[str, Any] | None:
    """The ramp as ``rampart rollout status`` shows it (None without a ramp): the step in
    force, the next one, when it is due and, once due, why the last evaluation left it."""
    step, nxt = steps
    if step is None:
        return None
    due = state.entered_at + nxt.after_ms if nxt else None
    why = waiting(nxt, now - state.entered_at, []) if nxt else ""
    if nxt is not None and due is not None and now >= due:
        why = last_wait(db, state, "ramp") or why
    return {"step": step.to_dict(), "next": nxt.to_dict() if nxt else None, "next_due_at": due,
            "waiting": why}  # fmt: skip


def last_wait(db: sa.Engine, state: RolloutState, key: str) -> str:
    """Why the last evaluation in the stage left its ``key`` move (ramp, relax) waiting."""
    e = rollout_evaluations
    query = (
        sa.select(e.c.results)
        .where(e.c.stage == state.stage, e.c.ts >= state.entered_at)
        .order_by(e.c.ts.desc(), e.c.id.desc())
        .limit(1)
    )
    with db.connect() as conn:
        results = conn.execute(query).scalar()
    found = results.get(key, {}) if isinstance(results, dict) else {}
    return str(found.get("waiting", ""))

"""Moves inside a stage, beside the promotions and rollbacks between stages: the timed
ramp's steps (rollout/ramp.py) and the limits relaxed by measured stability (plan 000 phase
C: ``relax`` in a stage's settings, the open stage's by default).

Each is a transition from and to the same stage (kind ``ramp``, ``relax`` or ``tighten``),
stored with the evaluation's evidence and audited like a stage move; the level in force is
read back from those rows, so every process agrees on it without a column of its own.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Protocol

import sqlalchemy as sa

from rampart.domain.stages import Stage
from rampart.observability.logging import LazyLogger
from rampart.rollout import ramp
from rampart.rollout.measure_launch import incidents_in_window
from rampart.rollout.rules.decide import Decision, Outcome
from rampart.rollout.rules.gates import GateResult, Verdict
from rampart.rollout.settings import RelaxConfig, StageConfig
from rampart.rollout.state import RolloutState, add_transition
from rampart.store.models.rollout import rollout_transitions

if TYPE_CHECKING:
    from rampart.clock import Clock
    from rampart.rollout.enforce import Affected

log = LazyLogger("rampart.rollout")

RELAX = "relax"
TIGHTEN = "tighten"
VERBS = {ramp.RAMP: "ramp step", RELAX: "limits widened", TIGHTEN: "limits tightened"}
DAY_MS = 24 * 3_600_000


class Controller(Protocol):
    """What a move inside a stage reads and does through the rollout's controller
    (:class:`~rampart.rollout.controller.RolloutController` is one). Named here, not imported:
    the controller calls this module, so it does not read the controller's module back."""

    @property
    def db(self) -> sa.Engine: ...

    @property
    def clock(self) -> Clock: ...

    def state(self) -> RolloutState: ...

    def stage_config(self, name: str | None = None) -> StageConfig | None: ...

    async def apply(self) -> list[Affected]: ...

    async def tell(
        self, kind: str, came_from: str, to: str, reason: str, affected: list[Affected]
    ) -> None: ...

    async def audit_change(
        self, ts: int, actor: str, action: str, target: str, detail: dict[str, Any]
    ) -> None: ...


@dataclass(frozen=True, slots=True)
class Move:
    kind: str
    reason: str
    detail: dict[str, Any]


def relax_level(db: sa.Engine, stage: str, entered_at: int) -> tuple[int, int]:
    """(the relax level in force, when it was set): each ``relax`` row widens one level,
    a ``tighten`` row goes back to the first; the stage's entry starts at the first."""
    t = rollout_transitions
    query = (
        sa.select(t.c.kind, t.c.ts)
        .where(t.c.kind.in_((RELAX, TIGHTEN)), t.c.to_stage == stage, t.c.ts >= entered_at)
        .order_by(t.c.ts, t.c.id)
    )
    with db.connect() as conn:
        rows = conn.execute(query).all()
    level, since = 0, entered_at
    for row in rows:
        level, since = (level + 1 if row.kind == RELAX else 0), int(row.ts)
    return level, since


def _ramp(ctl: Controller, cfg: StageConfig, state: RolloutState) -> tuple[Any, Any]:
    steps = cfg.ramp_steps()
    if not steps:
        return None, None
    taken = ramp.steps_taken(ctl.db, state.stage, state.entered_at)
    return ramp.current(steps, taken), ramp.next_step(steps, taken)


def narrowed(ctl: Controller, cfg: StageConfig) -> Stage:
    """The stage as it applies now: its ramp's step and its relax level."""
    state = ctl.state()
    stage = ramp.narrow(cfg.to_stage(), _ramp(ctl, cfg, state)[0])
    if cfg.relax is not None:
        level, _ = relax_level(ctl.db, state.stage, state.entered_at)
        scales = cfg.relax.scales
        stage = replace(stage, limit_scale=scales[min(level, len(scales) - 1)])
    return stage


def status(
    ctl: Controller, state: RolloutState, now: int
) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """The ramp and the relax level as ``rampart rollout status`` shows them."""
    cfg = ctl.stage_config(state.stage)
    if cfg is None:
        return None, None
    shown = ramp.status(ctl.db, state, _ramp(ctl, cfg, state), now)
    if cfg.relax is None:
        return shown, None
    level, since = relax_level(ctl.db, state.stage, state.entered_at)
    scales = cfg.relax.scales
    relax: dict[str, Any] = {
        "level": level + 1,
        "levels": len(scales),
        "scale": str(scales[level]),
        "since": since,
        "stable_days": cfg.relax.stable_days,
        "waiting": ramp.last_wait(ctl.db, state, "relax"),
    }
    return shown, relax


def due(
    ctl: Controller,
    state: RolloutState,
    results: tuple[GateResult, ...],
    decision: Decision,
    now: int,
    evidence: dict[str, Any],
) -> Move | None:
    """The move inside the stage this evaluation makes, if any; why the next one waits goes
    into the evaluation's evidence. A promotion or a rollback decided now goes first."""
    cfg = ctl.stage_config(state.stage)
    if cfg is None or decision.outcome in (Outcome.PROMOTE, Outcome.ROLLBACK):
        return None
    move = _relax_due(ctl, cfg.relax, state, results, now, evidence) if cfg.relax else None
    if move is not None and move.kind == TIGHTEN:
        return move  # safety first: a ramp step waits for the next evaluation
    _, nxt = _ramp(ctl, cfg, state)
    if nxt is None:
        return move
    in_stage = now - state.entered_at
    reasons = ramp.blockers(results, state.held, state.hold_reason)
    if in_stage >= nxt.after_ms and not reasons:
        evidence["ramp"] = {"taken": nxt.to_dict()}
        return Move(ramp.RAMP, nxt.describe(), {"step": nxt.to_dict()})
    evidence["ramp"] = {"next": nxt.to_dict(), "waiting": ramp.waiting(nxt, in_stage, reasons)}
    return move


def _relax_due(
    ctl: Controller,
    relax: RelaxConfig,
    state: RolloutState,
    results: tuple[GateResult, ...],
    now: int,
    evidence: dict[str, Any],
) -> Move | None:
    level, since = relax_level(ctl.db, state.stage, state.entered_at)
    scales = relax.scales
    p0_since = incidents_in_window(ctl.db, "P0", since, now + 1).value or 0
    if level > 0 and p0_since:
        evidence["relax"] = {"tightened": str(scales[0])}
        reason = (
            f"a P0 incident since the limits were last widened: back to {scales[0]} of each "
            "profile's position-size and daily-loss limits"
        )
        return Move(TIGHTEN, reason, {"level": 1, "scale": str(scales[0])})
    if level + 1 >= len(scales):
        evidence["relax"] = {"level": level + 1, "waiting": "the profiles' full limits apply"}
        return None
    stable_ms = int(relax.stable_days * DAY_MS)
    start = now - stable_ms
    reasons = [f"held: {state.hold_reason}"] if state.held else []
    if now - since < stable_ms:
        served = (now - since) / DAY_MS
        reasons.append(f"{served:.1f} of {relax.stable_days:g} stable days served")
    for severity in ("P0", "P1"):
        count = int(incidents_in_window(ctl.db, severity, start, now + 1).value or 0)
        if count:
            reasons.append(f"{count} {severity} incident(s) in the last {relax.stable_days:g} days")
    reasons += [r.reason for r in results if r.verdict is Verdict.FAIL]
    nxt = scales[level + 1]
    if reasons:
        waiting = f"widening to {nxt} of the profiles' limits waits: " + "; ".join(reasons)
        evidence["relax"] = {"level": level + 1, "waiting": waiting}
        return None
    evidence["relax"] = {"widened": str(nxt)}
    reason = (
        f"{relax.stable_days:g} days without a P0 or P1 and every gate green: {nxt} of each "
        "profile's position-size and daily-loss limits"
    )
    return Move(RELAX, reason, {"level": level + 2, "scale": str(nxt)})


async def take(ctl: Controller, state: RolloutState, move: Move, evidence: dict[str, Any]) -> None:
    """Make the move: recorded and audited like a stage move, applied, and told."""
    now = ctl.clock.now_ms()
    with ctl.db.begin() as conn:
        add_transition(
            conn, now, state.stage, state.stage, move.kind, "system", move.reason, evidence
        )
    detail = {**move.detail, "reason": move.reason}
    await ctl.audit_change(now, "system", f"rollout.{move.kind}", state.stage, detail)
    log.warning("rollout_inside_move", stage=state.stage, kind=move.kind)
    affected = await ctl.apply()
    await ctl.tell(move.kind, state.stage, state.stage, move.reason, affected)

"""The stored rollout state: the stage in force, transitions and evaluations (revision 0006)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from rampart.store.models.rollout import rollout_evaluations, rollout_state, rollout_transitions

KEY = "current"


@dataclass(slots=True)
class RolloutState:
    stage: str
    entered_at: int
    pending_since: int | None = None
    held: bool = False
    hold_reason: str = ""
    streaks: dict[str, int] = field(default_factory=dict)
    last_evaluated_at: int | None = None


@dataclass(frozen=True, slots=True)
class Transition:
    id: int
    ts: int
    from_stage: str
    to_stage: str
    kind: str
    actor: str
    reason: str
    evidence: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "ts": self.ts,
            "from_stage": self.from_stage,
            "to_stage": self.to_stage,
            "kind": self.kind,
            "actor": self.actor,
            "reason": self.reason,
            "evidence": self.evidence,
        }


def load_state(db: sa.Engine) -> RolloutState | None:
    with db.connect() as conn:
        row = (
            conn.execute(sa.select(rollout_state).where(rollout_state.c.key == KEY))
            .mappings()
            .first()
        )
    if row is None:
        return None
    return RolloutState(
        stage=row["stage"],
        entered_at=row["entered_at"],
        pending_since=row["pending_since"],
        held=bool(row["held"]),
        hold_reason=row["hold_reason"],
        streaks={str(k): int(v) for k, v in (row["streaks"] or {}).items()},
        last_evaluated_at=row["last_evaluated_at"],
    )


def save_state(conn: sa.Connection, state: RolloutState, now: int) -> None:
    values = {
        "stage": state.stage,
        "entered_at": state.entered_at,
        "pending_since": state.pending_since,
        "held": state.held,
        "hold_reason": state.hold_reason,
        "streaks": dict(state.streaks),
        "last_evaluated_at": state.last_evaluated_at,
        "updated_at": now,
    }
    updated = conn.execute(
        rollout_state.update().where(rollout_state.c.key == KEY).values(**values)
    ).rowcount
    if not updated:
        conn.execute(rollout_state.insert().values(key=KEY, **values))


def add_transition(
    conn: sa.Connection,
    ts: int,
    from_stage: str,
    to_stage: str,
    kind: str,
    actor: str,
    reason: str,
    evidence: dict[str, Any],
) -> None:
    conn.execute(
        rollout_transitions.insert().values(
            ts=ts,
            from_stage=from_stage,
            to_stage=to_stage,
            kind=kind,
            actor=actor,
            reason=reason,
            evidence=evidence,
        )
    )


def add_evaluation(
    conn: sa.Connection,
    ts: int,
    stage: str,
    window_start: int,
    outcome: str,
    reason: str,
    results: dict[str, Any],
) -> None:
    conn.execute(
        rollout_evaluations.insert().values(
            ts=ts,
            stage=stage,
            window_start=window_start,
            outcome=outcome,
            reason=reason,
            results=results,
        )
    )


def transitions(db: sa.Engine, limit: int = 20) -> list[Transition]:
    t = rollout_transitions
    query = sa.select(t).order_by(t.c.ts.desc(), t.c.id.desc()).limit(limit)
    with db.connect() as conn:
        rows = conn.execute(query).mappings().all()
    return [
        Transition(
            r["id"],
            r["ts"],
            r["from_stage"],
            r["to_stage"],
            r["kind"],
            r["actor"],
            r["reason"],
            dict(r["evidence"] or {}),
        )
        for r in rows
    ]

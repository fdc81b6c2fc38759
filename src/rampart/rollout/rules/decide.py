"""Promote, hold or roll back, from the gates' verdicts, the time in stage and the approval mode.

Pure: the caller keeps the failure streaks (stored with the rollout state) and passes them in.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from rampart.rollout.rules.gates import GateResult, Verdict


class Outcome(StrEnum):
    PROMOTE = "promote"
    PENDING = "pending_approval"
    """All gates pass and the time is served; an operator must approve the promotion."""
    HOLD = "hold"
    ROLLBACK = "rollback"


@dataclass(frozen=True, slots=True)
class Decision:
    outcome: Outcome
    reason: str
    streaks: dict[str, int] = field(default_factory=dict)
    """Consecutive failing evaluations per gate name, after this evaluation."""


def _hours(ms: int) -> str:
    return f"{ms / 3_600_000:.1f} h"


def decide(
    results: Sequence[GateResult],
    *,
    streaks: Mapping[str, int],
    in_stage_ms: int,
    min_duration_ms: int,
    approval: str,
    has_next: bool,
    has_previous: bool,
    held: bool = False,
) -> Decision:
    """A failing gate at its failure limit rolls back; any other failure or an inconclusive
    gate holds; promotion needs every gate passing AND the stage's minimum duration served."""
    new = {
        r.gate.name: (streaks.get(r.gate.name, 0) + 1 if r.verdict is Verdict.FAIL else 0)
        for r in results
    }
    breached = [r for r in results if new[r.gate.name] >= r.gate.failure_limit > 0]
    failing = [r for r in results if r.verdict is Verdict.FAIL]
    unsure = [r for r in results if r.verdict is Verdict.INCONCLUSIVE]
    if breached:
        why = "; ".join(
            f"{r.reason}, failing {new[r.gate.name]} evaluation(s) in a row" for r in breached
        )
        if has_previous:
            return Decision(Outcome.ROLLBACK, why, new)
        return Decision(
            Outcome.HOLD, f"{why}; this is the first stage, nothing to step back to", new
        )
    if failing:
        why = "; ".join(
            f"{r.reason} ({new[r.gate.name]} of {r.gate.failure_limit} before a rollback)"
            for r in failing
        )
        return Decision(Outcome.HOLD, why, new)
    if unsure:
        return Decision(Outcome.HOLD, "inconclusive: " + "; ".join(r.reason for r in unsure), new)
    if not has_next:
        return Decision(Outcome.HOLD, "every gate passes; this is the last stage", new)
    if in_stage_ms < min_duration_ms:
        return Decision(
            Outcome.HOLD,
            f"every gate passes; {_hours(in_stage_ms)} of the stage's "
            f"{_hours(min_duration_ms)} served",
            new,
        )
    if held:
        return Decision(Outcome.HOLD, "every gate passes, but an operator holds the stage", new)
    if approval == "operator":
        return Decision(Outcome.PENDING, "every gate passes; waiting for an operator", new)
    return Decision(Outcome.PROMOTE, "every gate passes and the stage's time is served", new)

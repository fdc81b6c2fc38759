"""The pure rules: a gate's verdict on a measurement, and the decision from the verdicts."""

from __future__ import annotations

from rampart.rollout.rules.decide import Outcome, decide
from rampart.rollout.rules.gates import (
    Comparison,
    Gate,
    Measurement,
    Verdict,
    default_gates,
    evaluate,
)

SUCCESS = Gate("order success", "order_success", 0.95, Comparison.GE, 20, 2, "ratio")
P0 = Gate("no open P0 incident", "open_p0_incidents", 0, Comparison.LE, 0, 1, "count")


def test_gate_verdicts() -> None:
    assert evaluate(SUCCESS, Measurement(0.99, 19)).verdict is Verdict.INCONCLUSIVE
    assert evaluate(SUCCESS, Measurement(None, 50)).verdict is Verdict.INCONCLUSIVE
    assert evaluate(SUCCESS, Measurement(0.95, 20)).verdict is Verdict.PASS
    failed = evaluate(SUCCESS, Measurement(0.9, 40))
    assert failed.verdict is Verdict.FAIL
    assert failed.reason == "order success: 90.00 % misses >= 95.00 % over 40 samples"
    assert evaluate(P0, Measurement(1.0, 1)).verdict is Verdict.FAIL
    assert next(g for g in default_gates(1000) if g.unit == "ms").threshold == 1100.0


def _decide(results, streaks=None, **kw):  # type: ignore[no-untyped-def]
    args = dict(
        in_stage_ms=25 * 3_600_000,
        min_duration_ms=24 * 3_600_000,
        approval="auto",
        has_next=True,
        has_previous=True,
    )
    args.update(kw)
    return decide(results, streaks=streaks or {}, **args)  # type: ignore[arg-type]


def test_decisions() -> None:
    ok = [evaluate(SUCCESS, Measurement(0.99, 40)), evaluate(P0, Measurement(0, 1))]
    bad = [evaluate(SUCCESS, Measurement(0.5, 40)), evaluate(P0, Measurement(0, 1))]
    unsure = [evaluate(SUCCESS, Measurement(0.99, 3)), evaluate(P0, Measurement(0, 1))]
    assert _decide(ok).outcome is Outcome.PROMOTE
    assert _decide(ok, approval="operator").outcome is Outcome.PENDING
    assert _decide(ok, held=True).outcome is Outcome.HOLD
    assert _decide(ok, in_stage_ms=3_600_000).reason.endswith("1.0 h of the stage's 24.0 h served")
    assert _decide(ok, has_next=False).outcome is Outcome.HOLD
    first = _decide(bad)
    assert (first.outcome, first.streaks["order success"]) == (Outcome.HOLD, 1)
    second = _decide(bad, first.streaks)
    assert second.outcome is Outcome.ROLLBACK
    assert _decide(bad, first.streaks, has_previous=False).outcome is Outcome.HOLD
    assert _decide(ok, first.streaks).streaks["order success"] == 0  # a pass resets the streak
    held = _decide(unsure)
    assert held.outcome is Outcome.HOLD and held.reason.startswith("inconclusive: ")
    p0 = _decide([evaluate(P0, Measurement(2, 1))])
    assert p0.outcome is Outcome.ROLLBACK  # failure limit 1: at once

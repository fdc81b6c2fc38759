"""The rollout's scheduled job: evaluate the gates every ``rollout.evaluate_every_s``."""

from __future__ import annotations

from rampart.rollout.controller import RolloutController
from rampart.runtime.scheduler import Job

JOB = "rollout-gates"


def rollout_job(controller: RolloutController, evaluate_every_s: float) -> Job | None:
    """The gate-evaluation job; None while the rollout is off."""
    if not controller.enabled:
        return None

    async def run(slot_ms: int) -> str:
        del slot_ms
        ev = await controller.evaluate()
        moved = f" → {ev.moved_to}" if ev.moved_to else ""
        return f"{ev.stage}: {ev.decision.outcome.value}{moved} ({ev.decision.reason})"

    return Job(JOB, int(evaluate_every_s * 1000), run)

"""The rollout's wiring into the service: the controller at open, the gate-evaluation job."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rampart.ops.rollout.controller import RolloutController
from rampart.ops.scheduler import Job

if TYPE_CHECKING:
    from rampart.service import Service

JOB = "rollout-gates"


async def start_rollout(service: Service) -> RolloutController:
    """The controller on the service's store and ops clock; the engine gets the stored stage
    (the open stage while ``rollout.enabled`` is false) and accounts are brought inside."""
    session = service.session
    assert session is not None

    async def flush() -> None:
        # Gates read the store: write what the engine booked since the last checkpoint first.
        async with service.lock:
            await session.checkpoint_off_loop()

    controller = RolloutController(
        service.settings.rollout,
        session.db,
        service.ops_clock,
        engine=session.engine,
        lock=service.lock,
        messenger=lambda: service.messenger,
        heartbeat_ms=int(service.settings.ops.heartbeat_every_s * 1000),
        before_measure=flush,
    )
    await controller.start()
    return controller


def register_rollout_jobs(service: Service) -> None:
    controller: RolloutController | None = getattr(service, "rollout", None)
    if controller is None or not controller.enabled or service.scheduler is None:
        return

    async def run(slot_ms: int) -> str:
        del slot_ms
        ev = await controller.evaluate()
        moved = f" → {ev.moved_to}" if ev.moved_to else ""
        return f"{ev.stage}: {ev.decision.outcome.value}{moved} ({ev.decision.reason})"

    every_ms = int(service.settings.rollout.evaluate_every_s * 1000)
    service.scheduler.add(Job(JOB, every_ms, run))

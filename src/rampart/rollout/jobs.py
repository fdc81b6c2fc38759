"""The rollout's wiring into the service: the controller at open, the gate-evaluation job."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rampart.rollout.controller import RolloutController
from rampart.runtime.business_time import heartbeat_ms
from rampart.runtime.scheduler import Job

if TYPE_CHECKING:
    from rampart.wiring.service import Service

JOB = "rollout-gates"


async def start_rollout(service: Service) -> RolloutController:
    """The controller on the service's store and business clock (a simulated feed's time in
    the demo, so its gates see its orders and its stages last simulated hours); the engine gets
    the stored stage (the open stage while ``rollout.enabled`` is false) and accounts are brought
    inside."""
    session = service.session
    assert session is not None
    controller = RolloutController(
        service.settings.rollout,
        session.db,
        service.business,
        engine=session.engine,
        lock=service.lock,
        messenger=lambda: service.messenger,
        heartbeat_ms=heartbeat_ms(service.settings),
        # Gates read the store: what the engine booked since the last checkpoint first.
        before_measure=service.save_now,
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

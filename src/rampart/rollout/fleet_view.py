"""What the panel shows of the workers past one machine: each live worker with its
version, role and the shards it holds, shards per version, and the blue-green deploy with its
step's hold and gates, as ``rampart deploy status`` says them."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from rampart.rollout.deploy import Deployer, StepCheck
from rampart.rollout.deploy_state import DeployState
from rampart.store.leases import lease_table


@dataclass(frozen=True, slots=True)
class WorkerLine:
    name: str
    version: str
    role: str
    shards: int
    seen_s_ago: float


@dataclass(frozen=True, slots=True)
class FleetView:
    shards: int
    workers: tuple[WorkerLine, ...]
    by_version: dict[str, int]
    unheld: int
    """Shards no live worker holds now (between owners, or no worker running)."""
    deploy: DeployState | None
    check: StepCheck | None
    """The running step's hold and gates (None unless a deploy is running)."""


def fleet_view(deployer: Deployer) -> FleetView | None:
    """The fleet as the store has it now; None when no worker runs and no deploy ever ran
    (``rampart run``: one process trades every account)."""
    workers = deployer.live_workers()
    deploy = deployer.state()
    if not workers and deploy is None:
        return None
    now = deployer.now_ms()
    held = Counter(h.owner for h in lease_table(deployer.db).values() if h.live(now))
    lines = tuple(
        WorkerLine(name, w.version, w.role, held.get(name, 0), max(0.0, (now - w.seen_ms) / 1000))
        for name, w in sorted(workers.items())
    )
    check = deployer.check(deploy) if deploy is not None and deploy.status == "running" else None
    return FleetView(
        deployer.shards,
        lines,
        deployer.holders(),
        deployer.shards - sum(held.values()),
        deploy,
        check,
    )


__all__ = ["FleetView", "WorkerLine", "fleet_view"]

"""A blue-green deploy's stored state (``scale_state``, key ``deploy``) and what it lets a
worker hold: the shards of its version and role at the deploy's step. The commands that change
it are :class:`rampart.rollout.deploy.Deployer`'s."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import sqlalchemy as sa

from rampart.domain.shards import deploy_shards
from rampart.store.scale_state import DEPLOY, read_state
from rampart.store.workers import Worker

RUNNING, ROLLED_BACK, FINISHED = "running", "rolled_back", "finished"
ACTIVE, STANDBY = "active", "standby"
SYSTEM = "system"
"""The actor of a rollback the deploy's gates made (:mod:`rampart.rollout.deploy_watch`)."""


@dataclass(frozen=True, slots=True)
class DeployState:
    id: str
    old: str
    new: str
    steps: tuple[float, ...]
    holds_s: tuple[float, ...]
    step: int
    status: str
    started_ms: int
    step_started_ms: int
    actor: str
    servers_at_step: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Each API server's totals when the step started (its gates measure what came since)."""
    reason: str = ""
    """Why it was rolled back (the failed gates' sentences, or the operator's word)."""

    @property
    def last_step(self) -> bool:
        return self.step >= len(self.steps) - 1

    @property
    def rolled_back_by_gates(self) -> bool:
        return self.status == ROLLED_BACK and self.actor == SYSTEM

    @property
    def fraction(self) -> float:
        if self.status == ROLLED_BACK:
            return 0.0
        return 1.0 if self.status == FINISHED else self.steps[self.step]

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["steps"], data["holds_s"] = list(self.steps), list(self.holds_s)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DeployState:
        return cls(
            str(data["id"]),
            str(data["old"]),
            str(data["new"]),
            tuple(float(x) for x in data["steps"]),
            tuple(float(x) for x in data["holds_s"]),
            int(data["step"]),
            str(data["status"]),
            int(data["started_ms"]),
            int(data["step_started_ms"]),
            str(data["actor"]),
            dict(data.get("servers_at_step") or {}),
            str(data.get("reason") or ""),
        )

    def mark(self) -> tuple[str, int, str]:
        """What a compare-and-set compares: the same deploy, step and status."""
        return (self.id, self.step, self.status)


def read_deploy(db: sa.Engine) -> DeployState | None:
    data = read_state(db, DEPLOY)
    return DeployState.from_dict(data) if data else None


def eligible_shards(
    deploy: DeployState | None, version: str, role: str, shards: int
) -> tuple[frozenset[int], Callable[[Worker], bool]]:
    """The shards a worker of ``version`` and ``role`` may hold, and who shares them with it."""
    every = frozenset(range(shards))
    if deploy is None:
        if role == STANDBY:
            return frozenset(), lambda w: False
        return every, lambda w: w.role == ACTIVE
    if deploy.status == FINISHED:
        mine = every if version == deploy.new else frozenset()
        return mine, lambda w: w.version == deploy.new
    moved = deploy_shards(shards, deploy.fraction)
    if version == deploy.new:
        return moved, lambda w: w.version == deploy.new
    if version == deploy.old:
        return every - moved, lambda w: w.version == deploy.old
    return frozenset(), lambda w: False

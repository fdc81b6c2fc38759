"""A blue-green deploy that rolls itself back: the server holding the ops lease
checks the running deploy's step gates every ``rollout.deploy.check_every_s`` on the ops clock
and, when they fail, rolls it back with no operator typing: every shard returns to the old
version at the workers' next lease rounds, the load balancer's weights go back to 0 %, an audit
entry says why and DeployRolledBack (P1) opens.

When a failure rolls back:

- at once (the first check that sees it) for a hard failure, what the launch plan calls a
  safety signal: a P0 or P1 incident during the step, a trade that lost beyond its limit; and
  the new version's own failures: its shard takes refused, most of its orders rejected, its
  workers' errors beyond the old version's;
- after ``rollout.deploy.fail_checks`` failing checks in a row (3 by default, 3 minutes) for
  any other gate (order success, lost outcomes, latency, the API servers' uptime, errors and
  latency, the last step's profit), so one noisy window does not undo a deploy. A passing
  check ends the run; an inconclusive one (too few samples) neither counts nor ends it.

A hold (a step not yet held its time) is not a failure: it only keeps ``rampart deploy step``
waiting. The runs of failing checks are kept per deploy and step in the store (scale state
``deploy-gate-runs``): a server that takes the ops lease over goes on counting where the last
holder stopped, instead of starting afresh.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import sqlalchemy as sa
import structlog
from prometheus_client import CollectorRegistry

from rampart.observability.deploy_metrics import rolled_back_gauge
from rampart.rollout import balancer
from rampart.rollout.deploy import Deployer, DeployRefused
from rampart.rollout.deploy_state import RUNNING, SYSTEM, DeployState
from rampart.rollout.rules.gates import (
    NEW_ORDERS_REJECTED,
    NEW_TAKES_REFUSED,
    NEW_WORKER_ERRORS,
    OPEN_P0,
    P1_INCIDENTS,
    POSITION_LOSSES,
    GateResult,
    Verdict,
)
from rampart.rollout.settings import RolloutConfig
from rampart.runtime.scheduler import Job
from rampart.store.scale_state import read_state, write_state

log = structlog.get_logger("rampart.deploy.watch")

JOB = "deploy-gates"
RUNS = "deploy-gate-runs"
"""The scale state key holding the runs of failing checks of the deploy and step judged."""
HARD = frozenset(
    {
        OPEN_P0,
        P1_INCIDENTS,
        POSITION_LOSSES,
        NEW_TAKES_REFUSED,
        NEW_ORDERS_REJECTED,
        NEW_WORKER_ERRORS,
    }
)
"""Gates whose first failure rolls a deploy back."""

Shown = Callable[[DeployState | None], None]
"""Told the stored deploy at every check (the DeployRolledBack gauge)."""
Moved = Callable[[DeployState], str]
"""Told a rollback once stored (the load balancer's weights); returns what it did."""


class DeployWatch:
    def __init__(
        self,
        deployer: Deployer,
        *,
        fail_checks: int = 3,
        shown: Shown | None = None,
        moved: Moved | None = None,
    ) -> None:
        self.deployer = deployer
        self.fail_checks = fail_checks
        self.shown = shown
        self.moved = moved
        self.runs: dict[str, int] = {}
        """Failing checks in a row per gate, for the deploy and step in :attr:`judging`."""
        self.judging: tuple[str, int] | None = None

    def check(self) -> str:
        """One check: a sentence saying what it found and did."""
        deploy = self.deployer.state()
        if self.shown is not None:
            self.shown(deploy)
        if deploy is None or deploy.status != RUNNING:
            self.runs, self.judging = {}, None
            return "no deploy is running"
        if self.judging != (deploy.id, deploy.step):
            self.runs, self.judging = self._stored(deploy), (deploy.id, deploy.step)
        due = self._due(self.deployer.check(deploy).results)
        self._store(deploy)
        where = f"deploy {deploy.id} step {deploy.step + 1} of {len(deploy.steps)}"
        if not due:
            failing = [name for name, n in self.runs.items() if n]
            if failing:
                return f"{where}: failing ({', '.join(failing)}), not yet rolled back"
            return f"{where}: gates hold"
        reason = "; ".join(r.reason for r in due)
        try:
            back = self.deployer.rollback(SYSTEM, reason, expect=deploy)
        except DeployRefused as refused:  # an operator moved it meanwhile: judged again next
            return f"{where}: not rolled back, {refused.message}"
        self.runs, self.judging = {}, None
        log.warning("deploy_rolled_back", deploy=back.id, old=back.old, new=back.new, why=reason)
        if self.shown is not None:
            self.shown(back)
        said = ""
        if self.moved is not None:
            try:
                said = " " + self.moved(back)
            except Exception as err:  # the shards are back whatever the balancer says
                said = f" The load balancer was not told: {err}"
                log.error("deploy_balancer_failed", deploy=back.id, error=str(err))
        return f"{where} rolled back to {back.old}: {reason}.{said}".rstrip()

    def _stored(self, deploy: DeployState) -> dict[str, int]:
        """The runs a previous holder of the ops lease counted on this deploy and step."""
        found = read_state(self.deployer.db, RUNS) or {}
        if found.get("deploy") != deploy.id or found.get("step") != deploy.step:
            return {}
        return {str(k): int(v) for k, v in (found.get("runs") or {}).items()}

    def _store(self, deploy: DeployState) -> None:
        payload = {"deploy": deploy.id, "step": deploy.step, "runs": dict(self.runs)}
        write_state(self.deployer.db, RUNS, payload, self.deployer.now_ms())

    def _due(self, results: tuple[GateResult, ...]) -> list[GateResult]:
        due = []
        for result in results:
            name = result.gate.name
            if result.verdict is Verdict.PASS:
                self.runs[name] = 0
            elif result.verdict is Verdict.FAIL:
                self.runs[name] = self.runs.get(name, 0) + 1
                if result.gate.metric in HARD or self.runs[name] >= self.fail_checks:
                    due.append(result)
        return due


def deploy_watch_job(watch: DeployWatch, every_s: float) -> Job:
    async def run(slot_ms: int) -> str:
        del slot_ms
        return await asyncio.to_thread(watch.check)

    return Job(JOB, int(every_s * 1000), run)


def failed_gates(deploy: DeployState) -> str:
    """The names of the gates that rolled ``deploy`` back (each reason begins with one)."""
    return ", ".join(part.split(":", 1)[0] for part in deploy.reason.split("; ") if part)


def show_in(registry: CollectorRegistry) -> Shown:
    """Keep DeployRolledBack's gauge in ``registry`` to the stored deploy."""
    gauge = rolled_back_gauge(registry)

    def shown(deploy: DeployState | None) -> None:
        gauge.clear()
        if deploy is not None and deploy.rolled_back_by_gates:
            gauge.labels(old=deploy.old, new=deploy.new, gate=failed_gates(deploy)).set(1)

    return shown


def server_watch(
    rollout: RolloutConfig,
    db: sa.Engine,
    *,
    shards: int,
    lease_ms: int,
    now_ms: Callable[[], int],
    registry: CollectorRegistry,
) -> Job:
    """The job ``rampart serve`` runs under the ops lease: the deploy's gates on its clock."""
    deployer = Deployer(
        db,
        shards,
        rollout.gate_list(),
        now_ms,
        lease_ms=lease_ms,
        loss_multiple=rollout.loss_multiple,
    )
    config = rollout.deploy

    def moved(deploy: DeployState) -> str:
        return balancer.apply(config.balancer, deploy)

    watch = DeployWatch(
        deployer, fail_checks=config.fail_checks, shown=show_in(registry), moved=moved
    )
    return deploy_watch_job(watch, config.check_every_s)


__all__ = [
    "HARD",
    "JOB",
    "DeployWatch",
    "deploy_watch_job",
    "failed_gates",
    "server_watch",
    "show_in",
]

"""Blue-green deploys of the workers (``rampart deploy``).

Workers of the new version start as standbys (``rampart worker --standby --version-label V``):
they warm up and take nothing. ``start`` moves the first step's share of the shards (10 % of
the accounts by default) to them, by the same clean handover as a rebalance (the old owner
checkpoints and releases, the new one loads, reconciles, protects, trades); ``step`` moves the
next share (50 %, then 100 %) once the step has been held for its time (30 min, 1 h, 2 h by
default, as in the LeviBot launch plan) and the rollout's gates pass on the accounts it moved;
``finish`` makes the new version the only one; ``rollback`` gives every shard back to the old
version, at any step, by the same handover: no restore, no order sent twice, no position
without its stop. The state lives in the store (``scale_state``, key ``deploy``): every worker
reads it at each lease round and takes or gives back what it says. Every change is a
compare-and-set on that row (an operator's step cannot undo the automatic rollback
:mod:`rampart.rollout.deploy_watch` wrote a moment before) and is audited (``deploy.*``).

The last step (100 %) is also held to the rollout's "trading profitable" gate on the moved
accounts, judged once its hold is served (the launch plan's "paper trading
profitable").

This is not the staged rollout's rollback (``rampart rollout rollback``), which steps the
*investors* back a stage (less capital, fewer users) on the same version; a deploy moves
*shards* between versions and leaves the stage as it is.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, replace
from typing import Any

import sqlalchemy as sa
import structlog
from sqlalchemy import exc

from rampart.domain.errors import RampartError, StoreError
from rampart.domain.shards import deploy_shards, shard_of
from rampart.rollout.api_gates import SERVER, api_gates, measure_servers
from rampart.rollout.deploy_notices import tell_operators
from rampart.rollout.deploy_settings import BalancerConfig
from rampart.rollout.deploy_state import (
    ACTIVE,
    FINISHED,
    ROLLED_BACK,
    RUNNING,
    SYSTEM,
    DeployState,
    eligible_shards,
    read_deploy,
)
from rampart.rollout.measure import measure_accounts
from rampart.rollout.measure_launch import profit
from rampart.rollout.rules.gates import (
    NEW_ORDERS_REJECTED,
    NEW_VERSION_ERRORS,
    NEW_VERSION_ORDERS,
    NEW_VERSION_TAKES,
    PROFIT,
    Gate,
    GateResult,
    Measurement,
    Verdict,
    evaluate,
)
from rampart.store.dialects import dialect_insert
from rampart.store.errors import explain
from rampart.store.leases import lease_table
from rampart.store.models.scale import scale_state
from rampart.store.queries import list_accounts
from rampart.store.scale_state import (
    DEPLOY,
    read_states,
    take_failures,
    worker_errors,
)
from rampart.store.workers import Worker, worker_rows

log = structlog.get_logger("rampart.deploy")

DEFAULT_STEPS = (0.10, 0.50, 1.00)
DEFAULT_HOLDS_S = (1_800.0, 3_600.0, 7_200.0)
"""The LeviBot launch plan's blue-green: 10 % for 30 min, 50 % for 1 h, 100 % for 2 h."""


class DeployRefused(RampartError):
    """A deploy command that cannot be carried out now; nothing was changed."""


@dataclass(frozen=True, slots=True)
class StepCheck:
    """Why a step may or may not move on: its hold and its gates on the moved accounts."""

    held_s: float
    hold_s: float
    accounts: int
    results: tuple[GateResult, ...]

    @property
    def ready(self) -> bool:
        return self.held_s >= self.hold_s and all(r.verdict is Verdict.PASS for r in self.results)

    @property
    def held(self) -> str:
        """How long the step has been held of its hold, in the hold's unit: seconds for a hold
        under two minutes (in minutes a 30 s hold reads "held 0 min")."""
        if self.hold_s < 120:
            return f"{self.held_s:.0f} of {self.hold_s:.0f} s"
        return f"{self.held_s / 60:.0f} of {self.hold_s / 60:.0f} min"

    def lines(self) -> list[str]:
        out = [f"held {self.held}"]
        out += [f"{r.verdict.value.upper():12} {r.reason}" for r in self.results]
        return out


class Deployer:
    def __init__(
        self,
        db: sa.Engine,
        shards: int,
        gates: Sequence[Gate],
        now_ms: Callable[[], int],
        *,
        lease_ms: int,
        loss_multiple: float = 1.5,
        balancer: BalancerConfig | None = None,
    ) -> None:
        self.db = db
        self.balancer = balancer or BalancerConfig()
        """The load balancer the commands set after each change (:mod:`.balancer`)."""
        self.shards = shards
        self.gates = [g for g in gates if g.metric in STEP_METRICS]
        self.last_gates = [g for g in gates if g.metric == PROFIT]
        """Held to on the last step only: a version's profit over a 10 % slice and half an hour
        is noise; over every account and the last step's whole hold it is the launch plan's
        "paper trading profitable"."""
        self.api_gates = api_gates(gates)
        self.now_ms = now_ms
        self.lease_ms = lease_ms
        self.loss_multiple = loss_multiple

    # -- reading -------------------------------------------------------------------------------

    def state(self) -> DeployState | None:
        return read_deploy(self.db)

    def live_workers(self) -> dict[str, Worker]:
        since = self.now_ms() - self.lease_ms
        return {n: w for n, w in worker_rows(self.db).items() if w.seen_ms > since}

    def workers_of(self, version: str) -> set[str]:
        """Every worker that ever beat running ``version`` (a stalled one too: it still beat
        once)."""
        return {n for n, w in worker_rows(self.db).items() if w.version == version}

    def moved_accounts(self, deploy: DeployState) -> list[str]:
        moved = deploy_shards(self.shards, deploy.fraction)
        return [
            r.account_id
            for r in list_accounts(self.db)
            if shard_of(r.account_id, self.shards) in moved
        ]

    def check(self, deploy: DeployState) -> StepCheck:
        now = self.now_ms()
        accounts = self.moved_accounts(deploy)
        measured = measure_accounts(
            self.db,
            deploy.step_started_ms,
            now,
            accounts,
            loss_multiple=self.loss_multiple,
            deploy_started=deploy.started_ms,
            old_workers=self.workers_of(deploy.old),
        )
        results = tuple(evaluate(g, measured[g.metric]) for g in self.gates)
        servers = self.servers()
        if any(r.get("version") == deploy.new for r in servers.values()):
            # The new version's API servers are gated too; without any, its API did not change.
            api = measure_servers(
                deploy.new, deploy.step_started_ms, now, deploy.servers_at_step, servers
            )
            results += tuple(evaluate(g, api[g.metric]) for g in self.api_gates)
        hold = deploy.holds_s[min(deploy.step, len(deploy.holds_s) - 1)]
        held_s = (now - deploy.step_started_ms) / 1000
        if deploy.last_step and self.last_gates:
            if held_s >= hold:
                made = profit(self.db, deploy.step_started_ms, now, accounts)
            else:  # a part of the hold's profit says nothing yet: inconclusive, not a failure
                made = Measurement(None, 0, "judged once the step's hold is served")
            results += tuple(evaluate(g, made) for g in self.last_gates)
        # The new version's own failures: the takes of the shards it was given, this step.
        failed = take_failures(self.db, deploy.new, deploy.step_started_ms)
        taken = Measurement(float(failed), 1, f"{failed} failed by {deploy.new}'s workers")
        results += (evaluate(NEW_VERSION_TAKES, taken),)
        # And the orders the venue refused on the accounts it was given, this step.
        results += (evaluate(NEW_VERSION_ORDERS, measured[NEW_ORDERS_REJECTED]),)
        results += (evaluate(NEW_VERSION_ERRORS, self._errors(deploy)),)
        return StepCheck(held_s, hold, len(accounts), results)

    def _errors(self, deploy: DeployState) -> Measurement:
        """The error lines the new version's workers logged this step beyond the old version's,
        per worker: what both log alike (the store or the exchange away) is not the new one's."""
        counts = worker_errors(self.db, deploy.step_started_ms)
        new, old = counts.get(deploy.new, 0), counts.get(deploy.old, 0)
        versions = [w.version for w in self.live_workers().values()]
        ours, theirs = versions.count(deploy.new), versions.count(deploy.old)
        usual = old * max(ours, 1) / theirs if theirs else 0.0
        excess = max(new - usual, 0.0)
        said = f"{new} logged by {deploy.new}'s workers, {old} by {deploy.old}'s"
        return Measurement(excess, 1, said)

    def servers(self) -> dict[str, dict[str, Any]]:
        """Every API server's running totals, as ``rampart serve`` keeps them."""
        return read_states(self.db, SERVER)

    def holders(self) -> dict[str, int]:
        """Shards held per version, as the lease table and the workers' rows say now."""
        now = self.now_ms()
        rows = worker_rows(self.db)
        counts: dict[str, int] = {}
        for holder in lease_table(self.db).values():
            if holder.live(now):
                version = rows[holder.owner].version if holder.owner in rows else "?"
                counts[version] = counts.get(version, 0) + 1
        return counts

    # -- acting --------------------------------------------------------------------------------

    def _write(self, before: DeployState | None, after: DeployState, action: str) -> None:
        """Store ``after`` if the stored deploy is still ``before`` (its id, step and status),
        in one transaction (the row locked on PostgreSQL), then audit it."""
        now = self.now_ms()
        t = scale_state
        upsert = dialect_insert(self.db.dialect.name)(t).values(
            key=DEPLOY, payload=after.to_dict(), changed_ms=now
        )
        upsert = upsert.on_conflict_do_update(
            index_elements=[t.c.key], set_={"payload": after.to_dict(), "changed_ms": now}
        )
        query = sa.select(t.c.payload).where(t.c.key == DEPLOY).with_for_update()
        try:
            with self.db.begin() as conn:
                found = conn.execute(query).scalar()
                stored = DeployState.from_dict(dict(found)) if found is not None else None
                if (stored and stored.mark()) != (before and before.mark()):
                    raise DeployRefused(
                        "The deploy changed while this command ran (now "
                        f"{_describe(stored)}); nothing was changed: look at `rampart deploy "
                        "status` and run it again."
                    )
                conn.execute(upsert)
        except exc.SQLAlchemyError as err:
            raise StoreError(f"The deploy could not be saved: {explain(err)}.") from err
        detail = {"from": after.old, "to": after.new, "step": after.step + 1}
        detail.update({"fraction": after.fraction, "status": after.status})
        if after.reason:
            detail["reason"] = after.reason
        try:
            from rampart.store.audit import AuditLog

            AuditLog(self.db).record(now, after.actor, f"deploy.{action}", after.id, detail)
        except Exception as err:  # the deploy row is the record; the audit copy is extra
            log.warning("deploy_audit_failed", error=str(err))
        tell_operators(self.db, action, after, now)

    def start(
        self,
        new: str,
        actor: str,
        steps: Sequence[float] = DEFAULT_STEPS,
        holds_s: Sequence[float] = DEFAULT_HOLDS_S,
    ) -> DeployState:
        current = self.state()
        if current is not None and current.status == RUNNING:
            raise DeployRefused(
                f"A deploy from {current.old} to {current.new} is running (step "
                f"{current.step + 1} of {len(current.steps)}); finish it or roll it back first."
            )
        _check_steps(steps, holds_s)
        live = self.live_workers()
        if not any(w.version == new for w in live.values()):
            raise DeployRefused(
                f"No worker of version {new!r} is running: start them first with "
                f"`rampart worker --standby --version-label {new}`."
            )
        old = _active_version(live, current, new)
        deploy = DeployState(
            uuid.uuid4().hex[:12],
            old,
            new,
            tuple(steps),
            tuple(holds_s),
            0,
            RUNNING,
            self.now_ms(),
            self.now_ms(),
            actor,
            self.servers(),
        )
        self._write(current, deploy, "start")
        return deploy

    def step(self, actor: str) -> tuple[DeployState, StepCheck]:
        deploy = self._running()
        check = self.check(deploy)
        if not check.ready:
            raise DeployRefused(
                f"Step {deploy.step + 1} of {len(deploy.steps)} "
                f"({deploy.fraction * 100:.0f} % of the shards on {deploy.new}) cannot move on: "
                + "; ".join(check.lines())
                + ". Wait, or `rampart deploy rollback`."
            )
        if deploy.step + 1 >= len(deploy.steps):
            raise DeployRefused(
                f"Every shard is on {deploy.new} already: `rampart deploy finish` ends the deploy."
            )
        moved = replace(
            deploy,
            step=deploy.step + 1,
            step_started_ms=self.now_ms(),
            actor=actor,
            servers_at_step=self.servers(),
        )
        self._write(deploy, moved, "step")
        return moved, check

    def finish(self, actor: str) -> DeployState:
        deploy = self._running()
        if deploy.fraction < 1.0:
            raise DeployRefused(
                f"Only {deploy.fraction * 100:.0f} % of the shards are on {deploy.new}: step to "
                "100 % first (`rampart deploy step`)."
            )
        check = self.check(deploy)
        if not check.ready:
            raise DeployRefused(
                "The last step cannot finish yet: " + "; ".join(check.lines()) + "."
            )
        done = replace(deploy, status=FINISHED, actor=actor)
        self._write(deploy, done, "finish")
        return done

    def rollback(
        self, actor: str, reason: str = "", expect: DeployState | None = None
    ) -> DeployState:
        """Every shard back to the old version; ``expect``: only if the stored deploy is still
        that one at that step (the gates' watch judged that step)."""
        deploy = self._running() if expect is None else expect
        back = replace(
            deploy, status=ROLLED_BACK, step_started_ms=self.now_ms(), actor=actor, reason=reason
        )
        self._write(deploy, back, "rollback")
        return back

    def _running(self) -> DeployState:
        deploy = self.state()
        if deploy is None or deploy.status != RUNNING:
            raise DeployRefused("No deploy is running: `rampart deploy start --to VERSION`.")
        return deploy


STEP_METRICS = frozenset(
    {
        "order_success",
        "execution_error_rate",
        "open_p0_incidents",
        "p1_incidents",
        "order_latency_p95_ms",
        "position_losses_beyond_limit",
    }
)
"""The rollout gates that say whether a version trades well (users, profit and Sharpe judge a
stage, not a version; uptime is judged on the new version's API servers,
:mod:`rampart.rollout.api_gates`)."""


def _describe(deploy: DeployState | None) -> str:
    if deploy is None:
        return "no deploy"
    return f"deploy {deploy.id} {deploy.status.replace('_', ' ')} at step {deploy.step + 1}"


def _check_steps(steps: Sequence[float], holds_s: Sequence[float]) -> None:
    if not steps or len(steps) != len(holds_s):
        raise DeployRefused("Give as many holds as steps (e.g. 10,50,100 and 30m,1h,2h).")
    if any(not 0 < s <= 1 for s in steps) or list(steps) != sorted(steps) or steps[-1] != 1:
        raise DeployRefused("Steps rise from above 0 % to 100 % (e.g. 10,50,100).")
    if any(h < 0 for h in holds_s):
        raise DeployRefused("A step's hold cannot be negative.")


def _active_version(live: dict[str, Worker], current: DeployState | None, new: str) -> str:
    if current is not None and current.status == FINISHED:
        return current.new
    versions: Collection[str] = {w.version for w in live.values() if w.role == ACTIVE}
    versions = {v for v in versions if v != new}
    if len(versions) != 1:
        shown = ", ".join(sorted(versions)) or "none"
        raise DeployRefused(
            f"A deploy moves shards from one running version; the active workers run {shown}."
        )
    return next(iter(versions))


# DeployState, SYSTEM, eligible_shards and read_deploy live in deploy_state; named here too for
# the worker's wiring, which reads them from this module.
__all__ = [
    "DEFAULT_HOLDS_S",
    "DEFAULT_STEPS",
    "SYSTEM",
    "DeployRefused",
    "DeployState",
    "Deployer",
    "StepCheck",
    "eligible_shards",
    "read_deploy",
]

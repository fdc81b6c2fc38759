"""A blue-green deploy rolls itself back: the job ``rampart serve`` runs under the ops
lease checks the running step's gates on the ops clock and, when they fail, gives every shard
back to the old version with no operator typing: at the first check for a P1 incident, after
``fail_checks`` failing checks in a row for a rate gate; it audits the rollback and DeployRolledBack
(P1) opens, and that incident does not roll back the next deploy. The last step is held to the
profit gate. SQLite, simulated time, no worker processes (the workers' side of a rollback, the
handover back, is tests/scale/test_deploy_steps.py's)."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa
from rich.console import Console

from rampart.clock import SimClock
from rampart.domain.events import OrderUpdated
from rampart.domain.orders import OrderStatus
from rampart.domain.shards import deploy_shards, shard_of
from rampart.observability import incidents as incident_store
from rampart.observability.alerts.engine import AlertEngine
from rampart.observability.alerts.rules import default_rules
from rampart.observability.metrics import Metrics
from rampart.observability.notify import CallbackNotifier, Notice
from rampart.rollout.deploy import Deployer, DeployRefused
from rampart.rollout.deploy_state import (
    ACTIVE,
    ROLLED_BACK,
    RUNNING,
    STANDBY,
    SYSTEM,
    eligible_shards,
)
from rampart.rollout.deploy_watch import JOB, server_watch
from rampart.rollout.rules.gates import PROFIT, Comparison, Gate
from rampart.rollout.settings import GateConfig, RolloutConfig
from rampart.runtime.scheduler import Job
from rampart.store.audit import AuditLog
from rampart.store.db import open_database
from rampart.store.leases import ShardLeases
from rampart.store.models import trades
from rampart.store.writer import StoreWriter
from tests.store.factories import entry_order, spec

SHARDS = 4
LEASE_MS = 6_000
MINUTE_MS = 60_000
HOUR_S = 3_600.0
T0 = 10_000_000


@pytest.fixture
def db(tmp_path: Path) -> sa.Engine:
    return open_database(f"sqlite:///{tmp_path / 'rampart.db'}")


def _fleet(db: sa.Engine, clock: SimClock) -> None:
    """A v1 worker trading and a v2 standby, alive now."""
    ShardLeases(db, "blue", clock, LEASE_MS, version="v1").beat()
    ShardLeases(db, "green", clock, LEASE_MS, version="v2", role="standby").beat()


def _watch(db: sa.Engine, clock: SimClock, rollout: RolloutConfig, metrics: Metrics) -> Job:
    return server_watch(
        rollout,
        db,
        shards=SHARDS,
        lease_ms=LEASE_MS,
        now_ms=clock.now_ms,
        registry=metrics.registry,
    )


def _check(job: Job, clock: SimClock) -> str:
    """The scheduler's next slot of the job, a check interval later."""
    clock.advance(job.every_ms)
    said = asyncio.run(job.run(clock.now_ms()))
    assert said is not None
    return said


def _engine(db: sa.Engine, clock: SimClock, metrics: Metrics) -> AlertEngine:
    async def told(notice: Notice) -> None:
        del notice

    return AlertEngine(default_rules(), metrics, db, clock, CallbackNotifier(told))


def _moved_account(fraction: float) -> str:
    moved = deploy_shards(SHARDS, fraction)
    return next(f"acct-{n}" for n in range(400) if shard_of(f"acct-{n}", SHARDS) in moved)


def _orders(db: sa.Engine, account_id: str, statuses: list[OrderStatus], ts: int) -> None:
    writer = StoreWriter(db)
    writer.upsert_account(spec(account_id), "active", False, ts)
    for seq, status in enumerate(statuses, 1):
        order = replace(entry_order(seq, account_id), created_at=ts, updated_at=ts)
        writer(OrderUpdated(ts, replace(order, status=status), OrderStatus.NEW))
    writer.flush()


def test_a_p1_incident_rolls_the_deploy_back_at_the_first_check(db: sa.Engine) -> None:
    clock = SimClock(T0)
    metrics = Metrics()
    _fleet(db, clock)
    rollout = RolloutConfig()  # the default gates: no P1 incident in the step among them
    job = _watch(db, clock, rollout, metrics)
    assert job.name == JOB and job.every_ms == 60_000
    deployer = Deployer(db, SHARDS, rollout.gate_list(), clock.now_ms, lease_ms=LEASE_MS)
    deploy = deployer.start("v2", "ops", (0.5, 1.0), (HOUR_S, HOUR_S))
    assert "gates hold" in _check(job, clock)

    worker_down = incident_store.open_incident(
        db,
        key="WorkerDown{component=green}",
        rule="WorkerDown",
        severity="P1",
        summary="Worker green has not answered.",
        value=1.0,
        threshold=1.0,
        labels={"component": "green"},
        now_ms=clock.now_ms(),
    )
    said = _check(job, clock)  # the very next check, a minute later
    assert "rolled back to v1" in said and "no P1 incident in the window" in said
    back = deployer.state()
    assert back is not None and back.status == ROLLED_BACK and back.actor == SYSTEM
    assert "1 P1 incident(s) in the window" in back.reason
    # Every shard is v1's again, none v2's: what each worker takes at its next lease round.
    assert eligible_shards(back, "v1", ACTIVE, SHARDS)[0] == frozenset(range(SHARDS))
    assert eligible_shards(back, "v2", STANDBY, SHARDS)[0] == frozenset()
    [entry] = AuditLog(db).tail(action="deploy.rollback")
    assert (entry.actor, entry.target) == (SYSTEM, deploy.id)
    assert "no P1 incident" in entry.detail["reason"]

    # The incident: DeployRolledBack (P1), naming the versions and the gate.
    engine = _engine(db, clock, metrics)
    asyncio.run(engine.evaluate(clock.now_ms()))
    [opened] = [i for i in incident_store.active_incidents(db) if i.rule == "DeployRolledBack"]
    assert opened.severity == "P1"
    assert "deploy of v2 was rolled back to v1" in opened.summary
    assert "no P1 incident in the window" in opened.summary

    # The operator resolves the worker's incident and deploys again: the deploy's own incident,
    # still open, does not roll the next one back; it resolves once the new deploy runs.
    incident_store.resolve(db, worker_down.id, clock.now_ms(), "worker back")
    clock.advance(MINUTE_MS)
    _fleet(db, clock)
    again = deployer.start("v2", "ops", (0.5, 1.0), (HOUR_S, HOUR_S))
    assert "gates hold" in _check(job, clock)
    clock.advance(MINUTE_MS)
    asyncio.run(engine.evaluate(clock.now_ms()))
    assert not [i for i in incident_store.active_incidents(db) if i.rule == "DeployRolledBack"]
    assert deployer.state() == again


def test_a_failing_rate_rolls_back_after_three_checks_in_a_row(db: sa.Engine) -> None:
    clock = SimClock(T0)
    _fleet(db, clock)
    success = GateConfig(
        name="order success",
        metric="order_success",
        threshold=0.95,
        comparison=">=",
        min_samples=4,
        failure_limit=2,
        unit="ratio",
    )
    rollout = RolloutConfig(gates=[success])
    job = _watch(db, clock, rollout, Metrics())
    deployer = Deployer(db, SHARDS, rollout.gate_list(), clock.now_ms, lease_ms=LEASE_MS)
    deployer.start("v2", "ops", (0.5, 1.0), (HOUR_S, HOUR_S))
    moved = _moved_account(0.5)
    clock.advance(1_000)
    failing_since = clock.now_ms()
    # Outcomes lost, not refused: most orders refused is the new version's own failure, which
    # rolls back at once (tests/scale/test_deploy_own_failures.py); a rate waits three checks.
    _orders(db, moved, [OrderStatus.FILLED] * 2 + [OrderStatus.UNKNOWN] * 3, failing_since)

    # One noisy window does not undo a deploy: two failing checks only hold it.
    for _ in range(2):
        assert "failing (order success), not yet rolled back" in _check(job, clock)
        assert deployer.state().status == RUNNING  # type: ignore[union-attr]
    said = _check(job, clock)
    assert "rolled back to v1" in said and "order success: 40.00 % misses" in said
    # Within 5 minutes of the failure showing: three checks a minute apart.
    assert clock.now_ms() - failing_since <= 5 * MINUTE_MS
    assert deployer.state().status == ROLLED_BACK  # type: ignore[union-attr]


def test_a_server_taking_the_ops_lease_over_goes_on_counting_failing_checks(
    db: sa.Engine,
) -> None:
    """The runs of failing checks live in the store: two failing checks on one server, the ops
    lease moves to another (a fresh watch), and its first failing check is the third."""
    clock = SimClock(T0)
    _fleet(db, clock)
    success = GateConfig(
        name="order success",
        metric="order_success",
        threshold=0.95,
        comparison=">=",
        min_samples=4,
        failure_limit=2,
        unit="ratio",
    )
    rollout = RolloutConfig(gates=[success])
    first = _watch(db, clock, rollout, Metrics())
    deployer = Deployer(db, SHARDS, rollout.gate_list(), clock.now_ms, lease_ms=LEASE_MS)
    deployer.start("v2", "ops", (0.5, 1.0), (HOUR_S, HOUR_S))
    clock.advance(1_000)
    _orders(db, _moved_account(0.5), [OrderStatus.UNKNOWN] * 5, clock.now_ms())
    for _ in range(2):
        assert "not yet rolled back" in _check(first, clock)
    second = _watch(db, clock, rollout, Metrics())  # the server that took the lease over
    assert "rolled back to v1" in _check(second, clock)
    assert deployer.state().status == ROLLED_BACK  # type: ignore[union-attr]


def test_a_rollback_judged_on_a_step_the_operator_left_meanwhile_changes_nothing(
    db: sa.Engine,
) -> None:
    clock = SimClock(T0)
    _fleet(db, clock)
    deployer = Deployer(db, SHARDS, [], clock.now_ms, lease_ms=LEASE_MS)
    judged = deployer.start("v2", "ops", (0.5, 1.0), (0.0, 0.0))
    stepped, _ = deployer.step("ops")
    with pytest.raises(DeployRefused, match="The deploy changed while this command ran"):
        deployer.rollback(SYSTEM, "order success failed", expect=judged)
    assert deployer.state() == stepped
    # And the other way: an operator's step read before an automatic rollback is refused.
    back = deployer.rollback(SYSTEM, "order success failed", expect=stepped)
    with pytest.raises(DeployRefused, match="The deploy changed"):
        deployer._write(stepped, replace(stepped, step=1, actor="ops"), "step")
    assert deployer.state() == back


def _trades(db: sa.Engine, account_id: str, pnls: list[str], at: int) -> None:
    with db.begin() as conn:
        for i, pnl in enumerate(pnls):
            conn.execute(
                trades.insert().values(
                    account_id=account_id,
                    symbol="BTC/USDT",
                    strategy="trend",
                    entry_client_id=f"t-{at}-{i}",
                    opened_at=at + i,
                    closed_at=at + i + 1,
                    qty=Decimal(1),
                    entry_price=Decimal(100),
                    exit_price=Decimal(100),
                    gross_pnl=Decimal(pnl),
                    fees=Decimal(0),
                    pnl=Decimal(pnl),
                    exit_reason="take_profit",
                    stop_loss=Decimal(98),
                    take_profit=Decimal(104),
                    risk=Decimal(2),
                )
            )


PROFITABLE = Gate("trading profitable", PROFIT, 0, Comparison.GT, 4, 0, "money")


@pytest.mark.parametrize("pnl", ["-1", "2"])
def test_the_last_step_is_held_to_paper_profitability(db: sa.Engine, pnl: str) -> None:
    clock = SimClock(T0)
    _fleet(db, clock)
    deployer = Deployer(db, SHARDS, [PROFITABLE], clock.now_ms, lease_ms=LEASE_MS)
    deployer.start("v2", "ops", (0.5, 1.0), (0.0, 600.0))
    # The first step is not judged on profit: a loss there does not hold it.
    _orders(db, "acct-1", [OrderStatus.FILLED], clock.now_ms())
    _trades(db, "acct-1", ["-5"] * 4, clock.now_ms())
    clock.advance(1_000)
    last, _ = deployer.step("ops")
    clock.advance(1_000)
    _trades(db, "acct-1", [pnl] * 5, clock.now_ms())
    clock.advance(MINUTE_MS)
    # Before its hold is served the profit is not judged: the finish waits, nothing fails.
    early = deployer.check(last)
    assert [r.verdict.value for r in early.results if r.gate.metric == PROFIT] == ["inconclusive"]
    with pytest.raises(DeployRefused, match="held 1 of 10 min; INCONCLUSIVE trading profitable"):
        deployer.finish("ops")
    clock.advance(10 * MINUTE_MS)
    if pnl == "2":
        assert deployer.finish("ops").status == "finished"
        return
    with pytest.raises(DeployRefused, match=r"trading profitable: -5\.00 misses"):
        deployer.finish("ops")
    # Left there, the watch rolls it back after its three checks.
    job = _watch(db, clock, RolloutConfig(gates=[_config(PROFITABLE)]), Metrics())
    said = [_check(job, clock) for _ in range(3)]
    assert "rolled back to v1" in said[-1] and "trading profitable" in said[-1]
    assert deployer.state().status == ROLLED_BACK  # type: ignore[union-attr]


def _config(gate: Gate) -> GateConfig:
    return GateConfig(
        name=gate.name,
        metric=gate.metric,  # type: ignore[arg-type]
        threshold=gate.threshold,
        comparison=gate.comparison.value,  # type: ignore[arg-type]
        min_samples=gate.min_samples,
        failure_limit=gate.failure_limit,
        unit=gate.unit,  # type: ignore[arg-type]
    )


def test_rampart_serve_watches_a_deploy_under_the_ops_lease(tmp_path: Path) -> None:
    from rampart.config import load_settings
    from rampart.wiring.serve import Server

    settings = load_settings(
        store={"url": f"sqlite:///{tmp_path / 'serve.db'}"}, alerts={"enabled": False}
    )
    server = Server(settings, Console(quiet=True), install_signals=False)

    async def build() -> None:
        server.db = open_database(settings.store.url)
        try:
            await server._build_scheduler()
        finally:
            server.db.dispose()

    asyncio.run(build())
    assert server.scheduler is not None and JOB in server.scheduler.jobs


def test_checks_too_sparse_to_roll_back_within_five_minutes_are_refused() -> None:
    from pydantic import ValidationError

    assert RolloutConfig(deploy={"check_every_s": 80, "fail_checks": 3})  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="rolls the deploy back within 5 minutes"):
        RolloutConfig(deploy={"check_every_s": 120, "fail_checks": 3})  # type: ignore[arg-type]

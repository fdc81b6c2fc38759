"""A deploy is rolled back for the new version's own failures, and completes with older
incidents open, on SQLite and PostgreSQL.

A version whose orders the exchange refuses is broken whatever the incidents say: before, it
was judged only by order success (95 % over at least 20 orders, three failing checks in a row),
which waits for twenty orders a broken version may never send and names a rate, not the
failure. Now most of at least three orders rejected since the step began rolls the deploy back
at the first check, naming the new version's rejected orders; a healthy version's occasional
refusal does not, and older incidents still open do not hold it back. Likewise the error lines
the new version's workers log (each worker keeps its own in the store) beyond what the old
version's workers log over the same step."""

from __future__ import annotations

from dataclasses import replace

import sqlalchemy as sa

from rampart.clock import SimClock
from rampart.domain.events import OrderUpdated
from rampart.domain.orders import OrderStatus
from rampart.domain.shards import deploy_shards, shard_of
from rampart.observability import incidents as incident_store
from rampart.rollout.deploy import Deployer
from rampart.rollout.deploy_state import FINISHED, ROLLED_BACK, RUNNING
from rampart.rollout.deploy_watch import DeployWatch
from rampart.rollout.rules.gates import OPEN_P0, P1_INCIDENTS, Comparison, Gate, default_gates
from rampart.store.db import open_database
from rampart.store.leases import ShardLeases
from rampart.store.scale_state import record_worker_errors
from rampart.store.writer import StoreWriter
from tests.store.factories import entry_order, spec

SHARDS = 4
LEASE_MS = 6_000
START = 10_000_000
SUCCESS = Gate("order success", "order_success", 0.95, Comparison.GE, min_samples=4, unit="ratio")
"""Order success with few samples, so a step of a dozen orders is judged (the default needs 20)."""
GATES = [SUCCESS, *(g for g in default_gates() if g.metric in (OPEN_P0, P1_INCIDENTS))]


def _moved(count: int) -> list[str]:
    """Account ids whose shard the deploy's first step (25 %) moves."""
    first = deploy_shards(SHARDS, 0.25)
    return [f"acct-{n}" for n in range(400) if shard_of(f"acct-{n}", SHARDS) in first][:count]


def _orders(
    db: sa.Engine, account_id: str, statuses: list[OrderStatus], ts: int, first: int
) -> None:
    writer = StoreWriter(db)
    writer.upsert_account(spec(account_id), "active", False, ts)
    for seq, status in enumerate(statuses, first):
        order = replace(entry_order(seq, account_id), created_at=ts, updated_at=ts, status=status)
        writer(OrderUpdated(ts, order, OrderStatus.NEW))
    writer.flush()


def _older_incidents(db: sa.Engine) -> None:
    """A P0 and a P1 opened before the deploy started, still open: not the new version's."""
    for rule, severity, at in (
        ("BooksDifferUnrepaired", "P0", START - 3_600_000),
        ("ExchangeApiErrors", "P1", START - 60_000),
    ):
        incident_store.open_incident(
            db, key=rule, rule=rule, severity=severity, summary=f"{rule}.", value=1.0,
            threshold=0.0, labels={}, now_ms=at,
        )  # fmt: skip


def _fleet(db: sa.Engine) -> tuple[SimClock, Deployer, DeployWatch]:
    clock = SimClock(START)
    ShardLeases(db, "blue-1", clock, LEASE_MS, version="v1").beat()
    ShardLeases(db, "green-1", clock, LEASE_MS, version="v2", role="standby").beat()
    deployer = Deployer(db, SHARDS, GATES, clock.now_ms, lease_ms=LEASE_MS)
    return clock, deployer, DeployWatch(deployer)


def test_a_version_whose_orders_are_rejected_is_rolled_back_naming_them(db_url: str) -> None:
    db = open_database(db_url)
    try:
        clock, deployer, watch = _fleet(db)
        _older_incidents(db)
        deployer.start("v2", "ops", (0.25, 1.0), (0.0, 0.0))
        clock.advance(1_000)
        (account,) = _moved(1)
        # Too few orders yet to judge: the deploy is left be (older incidents do not count).
        _orders(db, account, [OrderStatus.REJECTED] * 2, clock.now_ms(), 1)
        clock.advance(1_000)
        assert "rolled back" not in watch.check()
        _orders(db, account, [OrderStatus.REJECTED] * 2 + [OrderStatus.FILLED], clock.now_ms(), 3)
        clock.advance(1_000)
        said = watch.check()
        back = deployer.state()
        assert back is not None and back.status == ROLLED_BACK, said
        assert "the new version's rejected orders" in back.reason
        assert "4 of 5 refused by the venue" in back.reason
        assert "incident" not in back.reason
    finally:
        db.dispose()


def test_a_healthy_version_completes_with_older_incidents_open(db_url: str) -> None:
    db = open_database(db_url)
    try:
        clock, deployer, watch = _fleet(db)
        _older_incidents(db)
        deployer.start("v2", "ops", (0.25, 1.0), (0.0, 0.0))
        clock.advance(1_000)
        (account,) = _moved(1)
        # One refusal in 25 (a minimum notional, say): a healthy version's.
        statuses = [OrderStatus.FILLED] * 24 + [OrderStatus.REJECTED]
        _orders(db, account, statuses, clock.now_ms(), 1)
        clock.advance(1_000)
        assert "gates hold" in watch.check()
        deployer.step("ops")
        clock.advance(1_000)
        _orders(db, account, [OrderStatus.FILLED] * 6, clock.now_ms(), 26)
        clock.advance(1_000)
        assert "gates hold" in watch.check()
        deployer.finish("ops")
        done = deployer.state()
        assert done is not None and done.status == FINISHED
    finally:
        db.dispose()


def test_the_gate_judges_the_moved_accounts_only(db_url: str) -> None:
    """Orders refused on accounts the deploy left on the old version are not the new one's."""
    db = open_database(db_url)
    try:
        clock, deployer, watch = _fleet(db)
        deploy = deployer.start("v2", "ops", (0.25, 1.0), (0.0, 0.0))
        clock.advance(1_000)
        kept = next(
            f"acct-{n}"
            for n in range(400)
            if shard_of(f"acct-{n}", SHARDS) not in deploy_shards(SHARDS, 0.25)
        )
        _orders(db, kept, [OrderStatus.REJECTED] * 5, clock.now_ms(), 1)
        clock.advance(1_000)
        assert "rolled back" not in watch.check()
        assert (state := deployer.state()) is not None and state.status == RUNNING
        del deploy
    finally:
        db.dispose()


def test_a_version_whose_workers_log_errors_is_rolled_back_naming_them(db_url: str) -> None:
    """Errors both versions' workers log alike (the store or the exchange away) leave a deploy
    be; ten more on the new version's workers than on the old's roll it back at once."""
    db = open_database(db_url)
    try:
        clock, deployer, watch = _fleet(db)
        _older_incidents(db)
        deployer.start("v2", "ops", (0.25, 1.0), (0.0, 0.0))
        clock.advance(1_000)
        blue: list[int] = []
        green: list[int] = []
        record_worker_errors(db, "blue-1", "v1", blue, 12, clock.now_ms())
        record_worker_errors(db, "green-1", "v2", green, 12, clock.now_ms())
        clock.advance(1_000)
        assert "rolled back" not in watch.check()
        record_worker_errors(db, "green-1", "v2", green, 10, clock.now_ms())
        clock.advance(1_000)
        said = watch.check()
        back = deployer.state()
        assert back is not None and back.status == ROLLED_BACK, said
        assert "the new version's worker errors" in back.reason
        assert "22 logged by v2's workers, 12 by v1's" in back.reason
        assert "incident" not in back.reason
    finally:
        db.dispose()

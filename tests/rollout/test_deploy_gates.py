"""A blue-green deploy step is held to the rollout's gates on the accounts it moved:
the orders of the moved accounts are measured, the others' are not; a failing gate refuses the
step with its figures, changing nothing; a deploy needs standby workers of its version; the
command line says each refusal in one sentence and exits 2."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from rampart.cli.main import app
from rampart.clock import SimClock
from rampart.domain.events import OrderUpdated
from rampart.domain.orders import OrderStatus
from rampart.domain.shards import deploy_shards, shard_of
from rampart.rollout.deploy import Deployer, DeployRefused
from rampart.rollout.rules.gates import Comparison, Gate
from rampart.store.db import open_database
from rampart.store.leases import ShardLeases
from rampart.store.writer import StoreWriter
from tests.store.factories import entry_order, spec

SHARDS = 4
LEASE_MS = 6_000
SUCCESS = Gate("order success", "order_success", 0.95, Comparison.GE, min_samples=4, unit="ratio")


def _accounts_in(moved: bool, count: int) -> list[str]:
    """Account ids whose shard a 25 % deploy moves (or not)."""
    first = deploy_shards(SHARDS, 0.25)
    found = [f"acct-{n}" for n in range(400) if (shard_of(f"acct-{n}", SHARDS) in first) == moved]
    return found[:count]


def _orders(
    db: sa.Engine, account_id: str, statuses: list[OrderStatus], ts: int, first: int = 1
) -> None:
    writer = StoreWriter(db)
    writer.upsert_account(spec(account_id), "active", False, ts)
    for seq, status in enumerate(statuses, first):
        order = replace(entry_order(seq, account_id), created_at=ts, updated_at=ts)
        if status is not OrderStatus.NEW:
            order = replace(order, status=status)
        writer(OrderUpdated(ts, order, OrderStatus.NEW))
    writer.flush()


@pytest.fixture
def db(tmp_path: Path) -> sa.Engine:
    return open_database(f"sqlite:///{tmp_path / 'rampart.db'}")


def test_a_step_is_gated_on_the_moved_accounts_orders_only(db: sa.Engine) -> None:
    clock = SimClock(10_000_000)
    ShardLeases(db, "blue", clock, LEASE_MS, version="v1").beat()
    ShardLeases(db, "green", clock, LEASE_MS, version="v2", role="standby").beat()
    deployer = Deployer(db, SHARDS, [SUCCESS], clock.now_ms, lease_ms=LEASE_MS)
    deploy = deployer.start("v2", "ops", (0.25, 1.0), (0.0, 0.0))
    clock.advance(1_000)
    moved, kept = _accounts_in(True, 1)[0], _accounts_in(False, 1)[0]
    # The accounts left on v1 refuse everything: not the moved accounts' business.
    _orders(db, kept, [OrderStatus.REJECTED] * 6, clock.now_ms())
    _orders(db, moved, [OrderStatus.FILLED] * 5, clock.now_ms())
    clock.advance(1_000)
    check = deployer.check(deploy)
    assert check.accounts == 1 and check.ready, check.lines()

    # Two refusals in eleven on the moved account: 81.82 % misses the 95 % gate; refused.
    _orders(db, moved, [OrderStatus.FILLED] * 4 + [OrderStatus.REJECTED] * 2, clock.now_ms(), 6)
    clock.advance(1_000)
    with pytest.raises(DeployRefused, match=r"FAIL.*order success: 81\.82 % misses >= 95\.00 %"):
        deployer.step("ops")
    assert deployer.state() == deploy


def test_a_deploy_needs_standby_workers_of_its_version(db: sa.Engine) -> None:
    clock = SimClock(10_000_000)
    ShardLeases(db, "blue", clock, LEASE_MS, version="v1").beat()
    deployer = Deployer(db, SHARDS, [], clock.now_ms, lease_ms=LEASE_MS)
    with pytest.raises(DeployRefused, match="No worker of version 'v3' is running"):
        deployer.start("v3", "ops")
    with pytest.raises(DeployRefused, match="No deploy is running"):
        deployer.step("ops")
    with pytest.raises(DeployRefused, match="Steps rise"):
        ShardLeases(db, "green", clock, LEASE_MS, version="v3", role="standby").beat()
        deployer.start("v3", "ops", (0.5, 0.25), (0.0, 0.0))
    assert deployer.state() is None


def test_the_command_line_refuses_a_second_deploy_in_one_sentence(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'rampart.db'}"
    db = open_database(url)
    try:
        clock = SimClock(0)
        clock.set(_wall_ms())
        ShardLeases(db, "blue", clock, LEASE_MS * 100, version="v1").beat()
        ShardLeases(db, "green", clock, LEASE_MS * 100, version="v2", role="standby").beat()
    finally:
        db.dispose()
    env = {"RAMPART_STORE__URL": url, "RAMPART_SCALE__LEASE_S": "600"}
    first = CliRunner().invoke(app, ["deploy", "start", "--to", "v2"], env=env)
    assert first.exit_code == 0, first.output
    assert "10 % of the shards move from v1 to v2" in first.output
    second = CliRunner().invoke(app, ["deploy", "start", "--to", "v2"], env=env)
    assert second.exit_code == 2
    assert "A deploy from v1 to v2 is running" in second.output
    assert "Traceback" not in second.output
    shown = CliRunner().invoke(app, ["deploy", "status"], env=env)
    assert shown.exit_code == 0 and "running, step 1 of 3" in shown.output
    back = CliRunner().invoke(app, ["deploy", "rollback"], env=env)
    assert back.exit_code == 0 and "every shard goes back to v1" in back.output


def _wall_ms() -> int:
    import time

    return int(time.time() * 1000)

"""Deployment start, step, complete and rollback notices (the launch plan's
"Deployment Start" and "Deployment Complete" templates): each change of a deploy puts one
operator notice in the outbox, in the store, whichever process made it; the ``rampart serve``
holding the ops lease sends it to the operator chat."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import sqlalchemy as sa

from rampart.clock import SimClock
from rampart.notices.notify_prefs import NotifyPrefs
from rampart.notices.outbox import Outbox
from rampart.rollout.deploy import Deployer
from rampart.store.db import open_database
from rampart.store.leases import ShardLeases
from rampart.store.models.notify import notify_outbox

SHARDS = 4
LEASE_MS = 6_000_000


@pytest.fixture
def db(tmp_path: Path) -> sa.Engine:
    return open_database(f"sqlite:///{tmp_path / 'rampart.db'}")


def _told(db: sa.Engine) -> list[tuple[str, str]]:
    t = notify_outbox
    with db.connect() as conn:
        rows = conn.execute(sa.select(t.c.kind, t.c.text).order_by(t.c.created_at, t.c.key))
        return [(kind, text) for kind, text in rows]


def _deployer(db: sa.Engine, clock: SimClock) -> Deployer:
    ShardLeases(db, "blue", clock, LEASE_MS, version="v1").beat()
    ShardLeases(db, "green", clock, LEASE_MS, version="v2", role="standby").beat()
    return Deployer(db, SHARDS, [], clock.now_ms, lease_ms=LEASE_MS)


def test_a_deploy_tells_the_operators_its_start_each_step_and_its_end(db: sa.Engine) -> None:
    clock = SimClock(10_000_000)
    deployer = _deployer(db, clock)
    deployer.start("v2", "ann", (0.25, 1.0), (1_800.0, 3_600.0))
    clock.advance(1_800_000)
    deployer.step("ann")
    clock.advance(3_600_000)
    deployer.finish("bob")
    told = _told(db)
    assert [kind for kind, _ in told] == ["operator"] * 3
    start, step, done = (text for _, text in told)
    assert start.startswith("🚀 Deployment ") and "started: v1 → v2" in start
    assert "Step 1 of 2: 25 % of the shards on v2, held 30 min" in start
    assert "100 % on v2 in 30 min at the soonest" in start and "Started by ann" in start
    assert "step 2 of 2, 100 % of the shards on v2, held 1 h" in step
    assert done.startswith("✅ Deployment ") and "complete: v2 runs every shard" in done
    assert "2 steps in 1 h 30 min" in done and "Finished by bob" in done


def test_a_rollback_is_told_with_its_reason_once(db: sa.Engine) -> None:
    clock = SimClock(10_000_000)
    deployer = _deployer(db, clock)
    deployer.start("v2", "ann")
    clock.advance(60_000)
    deployer.rollback("system", "P1 incident <OrderSettledFromHistory> opened")
    told = [text for _, text in _told(db)]
    assert len(told) == 2
    assert told[1].startswith("⚠️ Deployment ") and "every shard back on v1" in told[1]
    assert "stopped at step 1 of 3" in told[1]
    assert "Why: P1 incident &lt;OrderSettledFromHistory&gt; opened" in told[1]  # as typed


class _Chat:
    def __init__(self) -> None:
        self.operators: list[str] = []

    async def tell_operators(self, html: str) -> bool:
        self.operators.append(html)
        return True

    async def deliver(self, account_id: str, html: str) -> bool:
        raise AssertionError(f"an investor was told of a deploy: {account_id}")


def test_the_serving_process_sends_them_to_the_operator_chat(db: sa.Engine) -> None:
    clock = SimClock(10_000_000)
    _deployer(db, clock).start("v2", "ann")
    chat = _Chat()
    outbox = Outbox(db, clock, lambda: chat, NotifyPrefs(db).load())

    async def send() -> None:
        stop = asyncio.Event()
        runner = asyncio.create_task(outbox.run(stop, lambda: None, 0.05, 0.05))
        for _ in range(200):
            if chat.operators:
                break
            await asyncio.sleep(0.01)
        stop.set()
        await runner

    asyncio.run(send())
    assert len(chat.operators) == 1 and "started: v1 → v2" in chat.operators[0]

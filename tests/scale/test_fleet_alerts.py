"""The fleet's alerts, run by the ``rampart serve`` holding the ops lease: no worker
running is a P0 after 30 s, a shard no worker holds a P1 after 30 s; both resolve once a worker
holds every shard again. Read from the store at each evaluation, on the injected clock."""

from __future__ import annotations

import asyncio
from pathlib import Path

from rampart.clock import SimClock
from rampart.config import load_settings
from rampart.fleet.alerts import fleet_alerting
from rampart.observability.incidents import active_incidents, list_incidents
from rampart.observability.metrics import Metrics
from rampart.store.db import open_database
from rampart.store.leases import ShardLeases

SHARDS = 4


def test_no_worker_and_an_unheld_shard_page_and_resolve(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'rampart.db'}"
    settings = load_settings(
        store={"url": url}, scale={"shards": SHARDS, "lease_s": 6.0}, api={"enabled": False}
    )
    db = open_database(url)
    clock = SimClock(50_000_000)
    metrics = Metrics(venue="serve")
    engine = fleet_alerting(settings, db, metrics, clock)
    assert {"NoWorkerRunning", "ShardsUnheld"} <= {r.name for r in engine.rules}
    worker = ShardLeases(db, "w1", clock, 6_000)
    worker.ensure(SHARDS)

    async def scenario() -> None:
        await engine.evaluate(clock.now_ms())
        assert active_incidents(db) == []  # 30 s to hold first
        clock.advance(31_000)
        await engine.evaluate(clock.now_ms())
        opened = {i.rule: i.severity for i in active_incidents(db)}
        assert opened == {"NoWorkerRunning": "P0", "ShardsUnheld": "P1"}
        [unheld] = [i for i in active_incidents(db) if i.rule == "ShardsUnheld"]
        assert unheld.value == SHARDS

        # A worker comes and takes three shards: one worker running, one shard still unheld.
        worker.beat()
        for shard in range(SHARDS - 1):
            assert worker.acquire(shard) is not None
        clock.advance(1_000)
        await engine.evaluate(clock.now_ms())
        assert {i.rule for i in active_incidents(db)} == {"ShardsUnheld"}

        # Every shard held: nothing left open; both incidents resolved, not deleted.
        assert worker.acquire(SHARDS - 1) is not None
        clock.advance(1_000)
        await engine.evaluate(clock.now_ms())
        assert active_incidents(db) == []
        resolved = {i.rule for i in list_incidents(db, "resolved")}
        assert resolved == {"NoWorkerRunning", "ShardsUnheld"}

    asyncio.run(scenario())

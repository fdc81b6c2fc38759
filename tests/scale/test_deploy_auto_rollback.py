"""A deploy that rolls itself back, with real workers: a v1 worker and a standby v2
worker on a real NATS server and PostgreSQL; a deploy moves half the shards to v2; a P1
incident opens; the job ``rampart serve`` runs under the ops lease rolls the deploy back at its
next check, with nobody typing; at their next lease rounds every shard is v1's again, the books
as v2 left them. Liveness and the check's interval run on a SimClock."""

from __future__ import annotations

import asyncio
from typing import Any

from prometheus_client import CollectorRegistry
from rich.console import Console

from rampart.clock import SimClock
from rampart.config import Settings
from rampart.fleet.worker import Worker
from rampart.messaging.commands import CommandSender
from rampart.messaging.nats_link import command_stream, connect
from rampart.observability import incidents as incident_store
from rampart.rollout.deploy import Deployer
from rampart.rollout.deploy_watch import server_watch
from rampart.wiring.fleet_parts import build_worker
from tests.scale.nats_server import NatsServer
from tests.scale.test_deploy_steps import books
from tests.scale.test_workers import (
    LEASE_S,
    SHARDS,
    heartbeat,
    nats,  # noqa: F401 - the fixture
    publish,
    settings_for,
    started,
    until,
)

HOUR_S = 3_600.0
ROLLBACK_WITHIN_MS = 5 * 60_000


def test_a_p1_incident_gives_every_shard_back_with_nobody_typing(
    nats: NatsServer,  # noqa: F811 - the fixture
    pg_url: str,
) -> None:
    settings: Settings = settings_for(nats.url, pg_url)
    clock = SimClock(1_000_000)
    console = Console(quiet=True)

    async def rounds(*workers: Worker) -> None:
        for worker in workers:
            await worker.lease_round()

    async def scenario() -> None:
        await publish(settings, 300)
        nc = await connect(nats.url, "test-sender")
        sender = CommandSender(nc, await command_stream(nc), clock)
        blue = build_worker(
            settings, console, name="blue", version="v1", ops_clock=clock, install_signals=False
        )
        green = build_worker(
            settings,
            console,
            name="green",
            version="v2",
            role="standby",
            ops_clock=clock,
            install_signals=False,
        )
        tasks = [await started(blue), await started(green)]
        for worker in (blue, green):
            await until(worker, lambda w=worker: w.caught_up)
        await heartbeat(sender, blue, green)
        await rounds(blue, green, blue, green)
        lease_ms = int(LEASE_S * 1000)
        gates = settings.rollout.gate_list()  # the defaults: no P1 incident among them
        deployer = Deployer(blue.db, SHARDS, gates, clock.now_ms, lease_ms=lease_ms)
        job = server_watch(
            settings.rollout,
            blue.db,
            shards=SHARDS,
            lease_ms=lease_ms,
            now_ms=clock.now_ms,
            registry=CollectorRegistry(),
        )
        deployer.start("v2", "ops", (0.5, 1.0), (HOUR_S, HOUR_S))
        await rounds(blue, green)
        assert len(green.traders) == 2 and len(blue.traders) == 2

        incident_store.open_incident(
            blue.db,
            key="ExchangeApiErrors",
            rule="ExchangeApiErrors",
            severity="P1",
            summary="Exchange API errors.",
            value=5.0,
            threshold=5.0,
            labels={},
            now_ms=clock.now_ms(),
        )
        opened = clock.now_ms()
        moved: dict[str, Any] = books(green)
        clock.advance(job.every_ms)  # the job's next slot
        said = await job.run(clock.now_ms())
        assert said is not None and "rolled back to v1" in said, said
        await heartbeat(sender, blue, green)
        await rounds(green, blue)  # their next lease rounds: v2 gives back, v1 takes
        assert sorted(blue.traders) == [0, 1, 2, 3] and green.traders == {}
        assert deployer.holders() == {"v1": SHARDS}
        assert clock.now_ms() - opened <= ROLLBACK_WITHIN_MS
        for account_id, ledger in moved.items():
            assert books(blue)[account_id] == ledger  # resumed from green's hand-back

        for worker, task in zip((blue, green), tasks, strict=True):
            worker.stop.set()
            await task
            await worker.aclose()
        await nc.close()

    asyncio.run(scenario())

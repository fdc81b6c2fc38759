"""Blue-green deploys of the workers, in one process against a real NATS server and
the store: standby workers of the new version take nothing until a deploy moves shards to them;
each step moves its share by a clean handover (the books the new owner resumes are the old
owner's); a step is refused until it has been held and its gates pass; a second deploy is
refused; a rollback gives every shard back to the old version, books intact; a finished deploy
leaves the old version nothing. Liveness and holds run on an injected SimClock."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from rich.console import Console

from rampart.clock import SimClock
from rampart.config import Settings
from rampart.fleet.worker import Worker
from rampart.messaging.commands import CommandSender
from rampart.messaging.nats_link import command_stream, connect
from rampart.rollout.deploy import Deployer, DeployRefused
from rampart.wiring.fleet_parts import build_worker
from tests.scale.nats_server import NatsServer
from tests.scale.test_workers import (
    LEASE_S,
    SHARDS,
    close_of,
    heartbeat,
    nats,  # noqa: F401 - the fixture
    publish,
    settings_for,
    started,
    traded_until,
    until,
)

HOUR_S = 3_600.0


def books(worker: Worker) -> dict[str, Any]:
    """Every account's books as the worker's engines hold them."""
    found: dict[str, Any] = {}
    for trader in worker.traders.values():
        for account_id, data in trader.engine.snapshot()["accounts"].items():
            found[account_id] = data["ledger"]
    return found


def test_a_deploy_moves_shards_in_steps_and_back(
    nats: NatsServer,  # noqa: F811 - the fixture
    db_url: str,
) -> None:
    settings: Settings = settings_for(nats.url, db_url)
    settings.rollout.gates = []  # a step here is gated by its hold (the gates: test below)
    clock = SimClock(1_000_000)
    console = Console(quiet=True)

    async def rounds(*workers: Worker) -> None:
        for worker in workers:
            await worker.lease_round()

    async def scenario() -> None:
        await publish(settings, 600)
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
        assert sorted(blue.traders) == [0, 1, 2, 3] and green.traders == {}  # a standby waits

        deployer = Deployer(
            blue.db,
            SHARDS,
            settings.rollout.gate_list(),
            clock.now_ms,
            lease_ms=int(LEASE_S * 1000),
        )
        deploy = deployer.start("v2", "ops", (0.25, 0.5, 1.0), (HOUR_S, HOUR_S, 0.0))
        assert (deploy.old, deploy.new, deploy.fraction) == ("v1", "v2", 0.25)
        with pytest.raises(DeployRefused, match="is running"):
            deployer.start("v2", "ops")
        before = books(blue)
        await rounds(blue, green)
        assert sorted(blue.traders) == [1, 2, 3] and sorted(green.traders) == [0]
        for account_id, ledger in books(green).items():
            assert ledger == before[account_id]  # resumed from blue's hand-back checkpoint

        # Held for less than its hour: refused in a sentence, nothing moves.
        with pytest.raises(DeployRefused, match="held 0 of 60 min"):
            deployer.step("ops")
        clock.advance(int(HOUR_S * 1000))
        await heartbeat(sender, blue, green)
        await rounds(blue, green)  # the hour ran the leases out too: renewed, nobody took them
        await publish(settings, 100)
        for worker in (blue, green):
            await traded_until(worker, close_of(settings, 700))
        deployer.step("ops")
        await rounds(blue, green)
        assert sorted(blue.traders) == [2, 3] and sorted(green.traders) == [0, 1]

        # Rollback: every shard back on v1 by the same handover, the books as green left them.
        moved = books(green)
        deployer.rollback("ops")
        await rounds(green, blue)
        assert sorted(blue.traders) == [0, 1, 2, 3] and green.traders == {}
        for account_id, ledger in moved.items():
            assert books(blue)[account_id] == ledger

        # Again, to the end: finished, v1 holds nothing.
        deployer.start("v2", "ops", (0.5, 1.0), (0.0, 0.0))
        await rounds(blue, green)
        deployer.step("ops")
        await rounds(blue, green)
        assert blue.traders == {} and sorted(green.traders) == [0, 1, 2, 3]
        assert deployer.finish("ops").status == "finished"
        await rounds(blue, green)
        assert blue.traders == {} and sorted(green.traders) == [0, 1, 2, 3]
        assert deployer.holders() == {"v2": 4}

        for worker, task in zip((blue, green), tasks, strict=True):
            worker.stop.set()
            await task
            await worker.aclose()
        await nc.close()

    asyncio.run(scenario())

"""NATS restarted under a trading worker: the server goes away and comes back on the
same port with its JetStream store; the worker's connection comes back by itself, the candles
published after the restart are traded once each, and a kill switch sent after it is applied
before the answer."""

from __future__ import annotations

import asyncio
from pathlib import Path

from rich.console import Console

from rampart.clock import SimClock
from rampart.messaging.commands import CommandSender
from rampart.messaging.nats_link import command_stream, connect
from rampart.operator.fleet import Fleet
from rampart.wiring.fleet_parts import build_worker
from tests.scale.nats_server import NatsServer
from tests.scale.test_workers import (
    HANG_GUARD_S,
    SHARDS,
    close_of,
    heartbeat,
    publish,
    settings_for,
    started,
    traded_until,
    until,
)


async def reconnected(nc: object) -> None:
    """Until the client says it is connected again (bounded: a broken test fails)."""

    async def wait() -> None:
        while not nc.is_connected:  # type: ignore[attr-defined]
            await asyncio.sleep(0.05)  # polling the client's own flag, not waiting for time

    await asyncio.wait_for(wait(), HANG_GUARD_S)


def test_a_worker_trades_on_after_nats_restarts(tmp_path: Path) -> None:
    server = NatsServer(tmp_path / "nats")
    server.start()
    settings = settings_for(server.url, f"sqlite:///{tmp_path / 'rampart.db'}")
    clock = SimClock(1_000_000)
    console = Console(quiet=True)

    async def scenario() -> None:
        await publish(settings, 600)
        nc = await connect(server.url, "test-sender")
        sender = CommandSender(nc, await command_stream(nc), clock)
        w1 = build_worker(settings, console, name="w1", ops_clock=clock, install_signals=False)
        t1 = await started(w1)
        await until(w1, lambda: w1.caught_up)
        await heartbeat(sender, w1)
        await w1.lease_round()
        await w1.lease_round()
        await publish(settings, 100)
        await traded_until(w1, close_of(settings, 700))
        traded = w1.traded

        await asyncio.to_thread(server.stop)
        await asyncio.to_thread(server.start)  # same port, same JetStream store
        await reconnected(nc)
        await reconnected(w1.nc)

        # Candles published after the restart reach the worker, each traded once per shard.
        await publish(settings, 60)
        await traded_until(w1, close_of(settings, 760))
        assert w1.traded == traded + 60 * SHARDS

        # Commands still reach it: the kill switch is applied before the answer.
        await heartbeat(sender, w1)
        fleet = Fleet(w1.db, sender, clock, shards=SHARDS, ack_timeout_s=HANG_GUARD_S)
        done = await fleet.kill("ops", "after the restart", False)
        assert done.complete and done.answers == {"w1": f"kill switch engaged on {SHARDS} shards"}
        assert all(t.engine.controls.global_kill for t in w1.traders.values())

        w1.stop.set()
        await t1
        await w1.aclose()
        await nc.close()

    try:
        asyncio.run(scenario())
    finally:
        server.stop()

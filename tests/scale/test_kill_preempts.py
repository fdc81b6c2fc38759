"""The kill switch does not queue behind a worker's lock: a worker taking a shard on an
exchange holds its lock for seconds (the shard's reconciliation), and a kill sent meanwhile must
stop entries at once and be answered, not wait. Its cancels and closes follow once the lock is
free, before any later command; the test holds the lock itself to stand for the slow take."""

from __future__ import annotations

import asyncio
import contextlib

from rich.console import Console

from rampart.clock import SimClock
from rampart.domain.events import KillSwitchChanged
from rampart.messaging.commands import CommandSender
from rampart.messaging.nats_link import command_stream, connect
from rampart.wiring.fleet_parts import build_worker
from tests.scale.nats_server import NatsServer
from tests.scale.test_workers import (
    HANG_GUARD_S,
    SHARDS,
    heartbeat,
    nats,  # noqa: F401 - the fixture
    publish,
    settings_for,
    started,
    until,
)


def test_a_kill_is_answered_and_stops_entries_while_the_lock_is_held(
    nats: NatsServer,  # noqa: F811 - the fixture
    db_url: str,
) -> None:
    settings = settings_for(nats.url, db_url)
    clock = SimClock(1_000_000)

    async def scenario() -> None:
        await publish(settings, 600)
        nc = await connect(nats.url, "test-sender")
        sender = CommandSender(nc, await command_stream(nc), clock)
        worker = build_worker(
            settings, Console(quiet=True), name="w1", ops_clock=clock, install_signals=False
        )
        trading = await started(worker)
        try:
            await until(worker, lambda: worker.caught_up)
            await heartbeat(sender, worker)
            await worker.lease_round()
            await worker.lease_round()
            assert len(worker.traders) == SHARDS
            controls = [t.engine.controls for t in worker.traders.values()]
            told: list[tuple[bool, str]] = []
            for trader in worker.traders.values():
                trader.session.bus.subscribe(
                    lambda e: (
                        told.append((e.engaged, e.reason))
                        if isinstance(e, KillSwitchChanged) and e.scope == "global"
                        else None
                    )
                )

            async with contextlib.AsyncExitStack() as held:  # every shard busy, slowly
                for shard in worker.traders:
                    await held.enter_async_context(worker.locks(shard))
                fan = await sender.send(
                    "kill", {"actor": "ops", "reason": "drill", "flatten": False}, {"w1"}, 10.0
                )
                assert fan.complete, fan.sentence()
                assert fan.answers["w1"] == f"kill switch engaged on {SHARDS} shards"
                # Entries stopped now; the kill switch's own record waits for the lock.
                assert all(c.global_kill for c in controls)
                assert all(c.global_actor == "" for c in controls) and told == []
                # A later command waits its turn behind the cancels.
                unkill = asyncio.create_task(
                    sender.send("unkill", {"actor": "ops", "reason": "over"}, {"w1"}, 10.0)
                )
                # It reaches the worker and queues behind the kill's cancels.
                async with asyncio.timeout(HANG_GUARD_S):
                    while not worker.locks.commands._waiters:  # type: ignore[attr-defined]
                        await asyncio.sleep(0.01)
                assert not unkill.done()
            released = await asyncio.wait_for(unkill, HANG_GUARD_S)
            assert released.complete, released.sentence()
            # Engaged on every shard (for the drill) before the release, never after it.
            assert told == [(True, "drill")] * SHARDS + [(False, "over")] * SHARDS
            assert all(not c.global_kill and c.global_actor == "" for c in controls)
            assert not worker.background
        finally:
            worker.stop.set()
            await trading
            await worker.aclose()
            await nc.close()

    asyncio.run(scenario())

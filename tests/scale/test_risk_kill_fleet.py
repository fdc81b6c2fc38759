"""The risk's kill switch is the service's past one machine: a position-loss kill
engaged on one worker's shard is kept in the store and sent to every worker once (the workers
applying it do not send it again), and the operator's release reaches them all."""

from __future__ import annotations

import asyncio

from rich.console import Console

from rampart.clock import SimClock
from rampart.domain.events import Event, KillSwitchChanged
from rampart.fleet.worker import Worker
from rampart.messaging.commands import CommandSender
from rampart.messaging.nats_link import command_stream, connect
from rampart.store.scale_state import CONTROLS, read_state
from rampart.wiring.fleet_parts import build_worker
from tests.scale.nats_server import NatsServer
from tests.scale.test_workers import (
    HANG_GUARD_S,
    heartbeat,
    nats,  # noqa: F401 - the fixture
    publish,
    settings_for,
    started,
    until,
)

REASON = "acct-00: the BTC/USDT position lost 60 USDT, more than the 50 USDT kill limit"


async def _settled(*workers: Worker) -> None:
    async with asyncio.timeout(HANG_GUARD_S):
        while any(w.background for w in workers):
            await asyncio.gather(*(t for w in workers for t in list(w.background)))


def test_a_kill_the_risk_engaged_on_one_worker_stops_every_worker(
    nats: NatsServer,  # noqa: F811 - the fixture
    db_url: str,
) -> None:
    settings = settings_for(nats.url, db_url)
    clock = SimClock(1_000_000)
    console = Console(quiet=True)

    async def scenario() -> None:
        await publish(settings, 600)
        nc = await connect(nats.url, "test-operator")
        sender = CommandSender(nc, await command_stream(nc), clock)
        w1 = build_worker(settings, console, name="w1", ops_clock=clock, install_signals=False)
        t1 = await started(w1)
        await until(w1, lambda: w1.caught_up)
        await heartbeat(sender, w1)
        await w1.lease_round()
        await w1.lease_round()
        w2 = build_worker(settings, console, name="w2", ops_clock=clock, install_signals=False)
        t2 = await started(w2)
        await until(w2, lambda: w2.caught_up)
        clock.advance(1_000)
        await heartbeat(sender, w1, w2)
        await w2.lease_round()
        await w1.lease_round()
        await w2.lease_round()
        assert sorted(w1.traders) == [0, 1] and sorted(w2.traders) == [2, 3]
        engaged: dict[int, list[str]] = {s: [] for s in range(4)}
        for w in (w1, w2):
            for shard, trader in w.traders.items():

                def heard(e: Event, shard: int = shard) -> None:
                    if isinstance(e, KillSwitchChanged) and e.scope == "global" and e.engaged:
                        engaged[shard].append(e.actor)

                trader.session.bus.subscribe(heard)
        try:
            # What the guard does when a position's loss passes the stage's amount.
            controls = w1.traders[0].engine.controls
            await controls.engage_kill_switch("risk", REASON, flatten=True)
            await _settled(w1, w2)
            everyone = [t.engine.controls for w in (w1, w2) for t in w.traders.values()]
            assert all(c.global_kill for c in everyone)
            assert {c.global_reason for c in everyone} == {REASON}
            stored = read_state(w1.db, CONTROLS)
            assert stored is not None and stored["kill"] and stored["actor"] == "risk"
            # One command: the other shards engaged it once each; shard 0 once more, from the
            # command coming back, which the store then kept from being sent again.
            assert engaged == {0: ["risk", "risk"], 1: ["risk"], 2: ["risk"], 3: ["risk"]}
            fan = await sender.send("unkill", {"actor": "ops", "reason": "understood"},
                                    {"w1", "w2"}, HANG_GUARD_S)  # fmt: skip
            assert fan.complete, fan.sentence()
            await _settled(w1, w2)
            assert not any(c.global_kill for c in everyone)
        finally:
            for w, task in ((w1, t1), (w2, t2)):
                w.stop.set()
                await task
                await w.aclose()
            await nc.close()

    asyncio.run(scenario())

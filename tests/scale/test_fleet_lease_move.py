"""The fleet's alerts move with the ops lease: two ``rampart serve`` processes (in
this process, on NATS and the store); the one holding the ops lease opens an incident and
notifies; it dies without giving the lease back; once the lease has run out the other takes it
and goes on with the same incident (no twin, no second notice), and resolves it once.

Leases and the rules' ``for`` run on a SimClock the test moves; the servers' rounds run on the
wall (a fraction of a second here), and the test waits on their outcomes, bounded only so that a
broken run fails instead of hanging."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from rich.console import Console

from rampart.clock import FeedClock, SimClock, WallClock
from rampart.config import Settings
from rampart.observability.incidents import active_incidents, list_incidents
from rampart.observability.notify import FIRING, RESOLVED, CallbackNotifier, Notice
from rampart.store.leases import OPS, ShardLeases, lease_table
from rampart.wiring.serve import Server
from tests.scale.nats_server import NatsServer
from tests.scale.test_workers import (
    HANG_GUARD_S,
    nats,  # noqa: F401 - the fixture
    settings_for,
)

LEASE_S = 60.0
RULE = "NoWorkerRunning"


def with_alerts(settings: Settings) -> Settings:
    alerts = settings.alerts.model_copy(update={"enabled": True, "evaluate_every_s": 0.05})
    scale = settings.scale.model_copy(update={"lease_s": LEASE_S, "renew_every_s": 0.1})
    return settings.model_copy(update={"alerts": alerts, "scale": scale})


async def until(done: Callable[[], bool], what: str) -> None:
    async with asyncio.timeout(HANG_GUARD_S):
        while not done():
            await asyncio.sleep(0.02)
    assert done(), what


def test_the_lease_holder_dies_and_the_other_server_carries_the_incident_on(
    nats: NatsServer,  # noqa: F811 - the fixture
    db_url: str,
) -> None:
    clock = SimClock(50_000_000)
    settings = with_alerts(settings_for(nats.url, db_url))
    notices: list[tuple[str, str, str]] = []
    """(server, rule, kind) of every notice sent."""

    def server(name: str) -> Server:
        made = Server(
            settings,
            Console(quiet=True),
            ops_clock=FeedClock(clock, WallClock()),
            install_signals=False,
            scheduler=False,
        )
        made.name = name
        return made

    async def running(made: Server) -> asyncio.Task[None]:
        task = asyncio.create_task(made.run())
        await asyncio.wait_for(made.opened.wait(), HANG_GUARD_S)
        assert made.alerts is not None

        async def record(notice: Notice) -> None:
            notices.append((made.name, notice.rule, notice.kind))

        made.alerts.notifier.add(CallbackNotifier(record))
        return task

    def told() -> list[tuple[str, str]]:
        return [(name, kind) for name, rule, kind in notices if rule == RULE]

    async def scenario() -> None:
        first, second = server("serve-a"), server("serve-b")
        a = await running(first)
        await until(lambda: first.holds_ops, "serve-a holds the ops lease")
        b = await running(second)
        try:
            db = first.db
            assert first.alerts is not None and second.alerts is not None
            await until(lambda: first.alerts is not None and first.alerts.evaluations > 0, "")
            clock.advance(31_000)  # no worker for longer than the rule's 30 s
            await until(lambda: any(i.rule == RULE for i in active_incidents(db)), "opened")
            [incident] = [i for i in active_incidents(db) if i.rule == RULE]
            await until(lambda: told() == [("serve-a", FIRING)], "told by serve-a")

            # serve-a dies holding the lease: it gives nothing back.
            assert first.ops_lease is not None
            first.ops_lease.release = lambda lease: None  # type: ignore[method-assign]
            first.stop.set()
            await a
            assert not second.holds_ops
            assert lease_table(db, shards_only=False)[OPS].owner == "serve-a"

            clock.advance(int(LEASE_S * 1000) + 1_000)  # its lease runs out
            await until(lambda: second.holds_ops, "serve-b takes the ops lease")
            taken = second.alerts.evaluations
            await until(lambda: second.alerts.evaluations >= taken + 3, "serve-b evaluates")
            assert [i.id for i in active_incidents(db) if i.rule == RULE] == [incident.id]
            assert told() == [("serve-a", FIRING)]  # no second notice from serve-b

            # A worker comes: serve-b resolves the incident, once.
            ShardLeases(db, "w1", clock, int(LEASE_S * 1000)).beat()
            await until(lambda: not any(i.rule == RULE for i in active_incidents(db)), "resolved")
            await until(lambda: ("serve-b", RESOLVED) in told(), "serve-b told it")
            resolved = [i for i in list_incidents(db, "resolved") if i.rule == RULE]
            assert [i.id for i in resolved] == [incident.id]
            assert told() == [("serve-a", FIRING), ("serve-b", RESOLVED)]
        finally:
            for made, task in ((first, a), (second, b)):
                made.stop.set()
                await task

    asyncio.run(scenario())

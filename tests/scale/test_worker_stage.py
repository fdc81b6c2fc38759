"""The staged rollout past one machine: ``rampart serve`` moves the stage (here an
operator's approve and rollback through its API), and every worker brings the shards it trades
inside it, as ``rampart run`` does with its own engine; a shard taken later gets the stage when
it is taken. The server also records the fleet's uptime for the gates: up while every shard is
held by a live worker, a new span once it is again after a gap."""

from __future__ import annotations

import asyncio

import httpx
import sqlalchemy as sa
from rich.console import Console

from rampart.clock import SimClock
from rampart.config import Settings
from rampart.domain.accounts import TradingState
from rampart.fleet.uptime import FleetUptime
from rampart.fleet.worker import Worker
from rampart.messaging.commands import CommandSender
from rampart.messaging.nats_link import command_stream, connect
from rampart.rollout.state import RolloutState, save_state
from rampart.store.models.ops import uptime_spans
from rampart.store.ops_records import uptime
from rampart.wiring.fleet_parts import build_worker
from rampart.wiring.serve import Server
from tests.scale.nats_server import NatsServer
from tests.scale.test_serve import ADMIN, run_server, serving
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

STAGES = [
    # The first stage allows only the conservative profile: every account here is aggressive.
    {"name": "narrow", "profiles": ["conservative"]},
    {"name": "wide"},
]


def staged(settings: Settings) -> Settings:
    rollout = settings.rollout.model_validate({"enabled": True, "stages": STAGES})
    return settings.model_copy(update={"rollout": rollout})


def reducing(worker: Worker) -> set[str]:
    """The accounts the stage holds to closing only, on every shard the worker trades."""
    return {
        account_id
        for trader in worker.traders.values()
        for account_id, acct in trader.engine.accounts.items()
        if acct.breakers.state is TradingState.REDUCING
    }


def spans(db: sa.Engine) -> list[tuple[int, int]]:
    c = uptime_spans.c
    with db.connect() as conn:
        rows = conn.execute(sa.select(c.started_at, c.last_beat_at).order_by(c.id)).all()
    return [(int(a), int(b)) for a, b in rows]


def test_a_stage_moved_by_rampart_serve_is_applied_by_the_workers(
    nats: NatsServer,  # noqa: F811 - the fixture
    db_url: str,
) -> None:
    settings = staged(settings_for(nats.url, db_url))
    clock = SimClock(1_000_000)
    console = Console(quiet=True)
    everyone = {f"acct-{i:02d}" for i in range(12)}

    async def scenario() -> None:
        await publish(settings, 600)
        nc = await connect(nats.url, "test-sender")
        sender = CommandSender(nc, await command_stream(nc), clock)
        worker = build_worker(settings, console, name="w1", ops_clock=clock, install_signals=False)
        trading = await started(worker)
        server = Server(
            serving(settings, 10.0),
            console,
            ops_clock=clock,
            install_signals=False,
            scheduler=False,
        )
        serving_task: asyncio.Task[None] | None = None
        try:
            await until(worker, lambda: worker.caught_up)
            await heartbeat(sender, worker)
            await worker.lease_round()
            await worker.lease_round()
            assert len(worker.traders) == SHARDS
            # Taken at the first stage: every account closes only.
            assert reducing(worker) == everyone

            serving_task, headers = await run_server(server, clock.now_ms())
            assert server.api is not None and server.scheduler is not None
            assert "rollout-gates" in server.scheduler.jobs
            # Every gate passed and the promotion waits for approval (as the gates left it).
            with server.db.begin() as conn:
                state = RolloutState("narrow", clock.now_ms(), pending_since=clock.now_ms())
                save_state(conn, state, clock.now_ms())
            async with httpx.AsyncClient(
                base_url=server.api.url, headers=headers, timeout=60
            ) as api:
                approved = await api.post(f"{ADMIN}/rollout/approve", json={})
                assert approved.status_code == 200, approved.text
                assert reducing(worker) == set()  # released by the worker before the answer
                back = await api.post(f"{ADMIN}/rollout/rollback", json={"reason": "drill"})
                assert back.status_code == 200, back.text
                assert reducing(worker) == everyone

            server.stop.set()
            await serving_task
            serving_task = None

            # The fleet's uptime: up while every shard is held, a gap once one is not.
            fleet = FleetUptime(worker.db, clock, SHARDS, 1.0)
            assert fleet.round()
            clock.advance(1_000)
            assert fleet.round()
            clock.advance(int(LEASE_S * 1000) + 1_000)  # the worker's leases run out
            assert not fleet.round()
            await worker.lease_round()  # renewed: up again, in a new span
            clock.advance(1_000)
            assert fleet.round()
            mine = spans(worker.db)[-2:]
            assert mine[0][1] - mine[0][0] == 1_000
            assert mine[1][0] == clock.now_ms()
            # Over the whole time: the first second up, the gap down.
            up = uptime(worker.db, mine[0][0], clock.now_ms())
            assert up.up_ms == 1_000 and up.window_ms == clock.now_ms() - mine[0][0]
        finally:
            if serving_task is not None:
                server.stop.set()
                await serving_task
            worker.stop.set()
            await trading
            await worker.aclose()
            await nc.close()

    asyncio.run(scenario())

"""``rampart serve`` in front of a worker, in one process against a real NATS server
and the store: the API shows the accounts from the shards' checkpoints, and its kill switch
and pause reach the worker that trades them, answer once every owning worker has applied them
(or name the one that has not), and are audited once, by the facade."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import httpx
import sqlalchemy as sa
from rich.console import Console

from rampart.clock import SimClock
from rampart.config import Settings
from rampart.domain.shards import shard_of
from rampart.messaging.commands import CommandSender
from rampart.messaging.nats_link import command_stream, connect
from rampart.security.tokens import create_token
from rampart.store.models.audit import audit_log
from rampart.store.scale_state import CONTROLS, read_state
from rampart.wiring.fleet_parts import build_worker
from rampart.wiring.serve import Server
from tests.scale.nats_server import NatsServer
from tests.scale.test_workers import (
    HANG_GUARD_S,
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

ADMIN = "/api/v1/admin"


def serving(settings: Settings, ack_timeout_s: float) -> Settings:
    api = settings.api.model_copy(update={"enabled": True, "port": 0})
    scale = settings.scale.model_copy(update={"ack_timeout_s": ack_timeout_s})
    return settings.model_copy(update={"api": api, "scale": scale})


async def run_server(server: Server, now_ms: int) -> tuple[asyncio.Task[None], dict[str, str]]:
    """``server`` running with its API listening, and an admin's bearer header for it."""
    task = asyncio.create_task(server.run())
    await asyncio.wait_for(server.opened.wait(), HANG_GUARD_S)
    assert server.api is not None
    await asyncio.wait_for(server.api.started.wait(), HANG_GUARD_S)
    token = create_token(server.db, "admin", None, "ops", now_ms)
    return task, {"Authorization": f"Bearer {token}"}


def audited(db: sa.Engine, action: str) -> int:
    c = audit_log.c
    with db.connect() as conn:
        query = sa.select(sa.func.count()).where(c.action == action)
        return int(conn.execute(query).scalar_one())


def test_the_api_of_rampart_serve_reaches_the_worker_that_trades(
    nats: NatsServer,  # noqa: F811 - the fixture
    db_url: str,
) -> None:
    settings = settings_for(nats.url, db_url)
    clock = SimClock(1_000_000)
    console = Console(quiet=True)

    async def scenario() -> None:
        await publish(settings, 600)
        nc = await connect(nats.url, "test-sender")
        sender = CommandSender(nc, await command_stream(nc), clock)
        w1 = build_worker(settings, console, name="w1", ops_clock=clock, install_signals=False)
        t1 = await started(w1)
        await until(w1, lambda: w1.caught_up)
        await heartbeat(sender, w1)
        await w1.lease_round()  # the first round says it is here
        await w1.lease_round()
        await publish(settings, 200)
        await traded_until(w1, close_of(settings, 800))
        for trader in w1.traders.values():
            assert await trader.session.checkpoint_off_loop()

        # No scheduler here: it waits on the injected clock, which would move the workers'
        # leases on with it (test_plain_stack.py runs it, on the wall clock).
        server = Server(
            serving(settings, 3.0), console, ops_clock=clock, install_signals=False, scheduler=False
        )
        serving_task, headers = await run_server(server, clock.now_ms())
        assert server.api is not None
        async with httpx.AsyncClient(base_url=server.api.url, headers=headers, timeout=60) as api:
            # What the API shows is the shards' checkpoints: the worker's books.
            shown = (await api.get(f"{ADMIN}/accounts")).json()
            assert len(shown["accounts"]) == 12
            for row in shown["accounts"]:
                trader = w1.traders[shard_of(row["account_id"], SHARDS)]
                books = trader.engine.accounts[row["account_id"]].ledger
                assert Decimal(row["realized_pnl"]) == books.realized_pnl

            # The kill switch: applied by the worker before the answer, kept in the store,
            # audited once.
            killed = await api.post(f"{ADMIN}/kill-switch", json={"reason": "drill"})
            assert killed.status_code == 200, killed.text
            assert "applied by 1 worker" in killed.json()["message"]
            assert all(t.engine.controls.global_kill for t in w1.traders.values())
            assert (read_state(server.db, CONTROLS) or {}).get("kill") is True
            assert audited(server.db, "operator.kill") == 1

            # An account paused through the API is paused on the engine that trades it.
            paused = await api.post(
                f"{ADMIN}/accounts/acct-03/pause", json={"reason": "looking at it"}
            )
            assert paused.status_code == 200, paused.text
            owner = w1.traders[shard_of("acct-03", SHARDS)]
            assert owner.engine.accounts["acct-03"].paused
            assert audited(server.db, "operator.pause") == 1
            # An unknown account is refused in a sentence, and nothing is sent.
            unknown = await api.post(f"{ADMIN}/accounts/nobody/pause", json={"reason": "x"})
            assert unknown.status_code == 404 and "nobody" in unknown.text

            # A worker that is gone is named, within the wait, instead of "done".
            await w1.receiver.stop()  # type: ignore[union-attr]
            released = await api.post(f"{ADMIN}/kill-switch/release", json={"reason": "over"})
            assert released.status_code == 200, released.text
            assert "w1 has not applied it yet" in released.json()["message"]

        server.stop.set()
        await serving_task
        w1.stop.set()
        await t1
        await w1.aclose()
        await nc.close()

    asyncio.run(scenario())

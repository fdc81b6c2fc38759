"""Investor notices past one machine: a worker trades without a bot, so what its
shards tell investors is written to the notices outbox, and the ``rampart serve`` holding the
ops lease sends it through the real python-telegram-bot client to a local Bot API stand-in.

A kill switch engaged through the server's API is applied by the worker; each of its accounts
gets the kill-switch notice, written by the worker once; the server delivers the one whose
account has an investor to that investor's chat, once, and marks every row sent."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from decimal import Decimal

import httpx
import sqlalchemy as sa
from pydantic import SecretStr
from rich.console import Console

from rampart.clock import FeedClock, SimClock, WallClock
from rampart.config import Settings
from rampart.messaging.commands import CommandSender
from rampart.messaging.nats_link import command_stream, connect
from rampart.notices.investor_notices import KILL, KINDS
from rampart.notices.notify_prefs import NotifyPrefs
from rampart.operator import investors as inv_store
from rampart.store.models import notify as mn
from rampart.wiring.fleet_parts import build_worker
from rampart.wiring.serve import Server
from rampart_testkit.botapi.shapes import TOKEN
from rampart_testkit.botapi.standin import FakeBotApi
from tests.scale.nats_server import NatsServer
from tests.scale.test_serve import ADMIN, run_server, serving
from tests.scale.test_workers import (
    HANG_GUARD_S,
    close_of,
    heartbeat,
    nats,  # noqa: F401 - the fixture
    publish,
    settings_for,
    started,
    traded_until,
)

INVESTOR = 101
OPERATOR = 900
ACCOUNT = "acct-03"
"""The configured account the investor owns (its notices go to the investor's chat)."""


def with_bot(settings: Settings, api_url: str) -> Settings:
    return settings.model_copy(
        update={
            "telegram_token": SecretStr(TOKEN),
            "telegram": settings.telegram.model_copy(
                update={
                    "api_url": api_url,
                    "operator_ids": [OPERATOR],
                    "operator_chat_id": OPERATOR,
                    "poll_timeout_s": 1,
                }
            ),
        }
    )


def outbox_rows(db: sa.Engine) -> list[tuple[str, str, bool]]:
    """(account, kind, sent) of every notice row."""
    c = mn.notify_outbox.c
    with db.connect() as conn:
        rows = conn.execute(sa.select(c.account_id, c.kind, c.sent_at).order_by(c.id)).all()
    return [(str(a), str(k), s is not None) for a, k, s in rows]


async def until(done: Callable[[], bool], what: str) -> None:
    """Poll another task's progress (the outbox's rounds), bounded so a broken run fails."""
    async with asyncio.timeout(HANG_GUARD_S):
        while not done():
            await asyncio.sleep(0.05)
    assert done(), what


def test_a_workers_notices_are_sent_by_the_server_holding_the_ops_lease(
    nats: NatsServer,  # noqa: F811 - the fixture
    db_url: str,
) -> None:
    clock = SimClock(1_000_000)
    console = Console(quiet=True)
    bot_api = FakeBotApi()
    bot_api.limits = False
    bot_api.meet(INVESTOR)
    bot_api.meet(OPERATOR)

    async def scenario() -> None:
        await bot_api.start()
        settings = with_bot(settings_for(nats.url, db_url), bot_api.url)
        await publish(settings, 600)
        nc = await connect(nats.url, "test-sender")
        sender = CommandSender(nc, await command_stream(nc), clock)
        worker = build_worker(settings, console, name="w1", ops_clock=clock, install_signals=False)
        trading = await started(worker)
        notices = asyncio.create_task(worker.notices.run(worker.stop, 0.05))  # type: ignore[union-attr]
        server: Server | None = None
        serving_task: asyncio.Task[None] | None = None
        try:
            await inv_store.save(
                worker.db,
                inv_store.Investor(
                    INVESTOR, ACCOUNT, accepted_disclaimer=True, capital=Decimal(1000), mode="paper"
                ),
            )
            # The investor keeps only the kill switch's notices (/notify): the others are
            # dropped at the send, so one message a second to the chat never waits on the
            # frozen clock.
            others = [kind for kind in KINDS if kind != KILL]
            await NotifyPrefs(worker.db).set(ACCOUNT, others, False, clock.now_ms())
            await until(lambda: worker.caught_up, "the market history read")
            await heartbeat(sender, worker)
            await worker.lease_round()
            await worker.lease_round()
            await publish(settings, 100)
            await traded_until(worker, close_of(settings, 700))
            assert len(worker.traders) == 4, worker.traders

            server = Server(
                serving(with_bot(settings, bot_api.url), 5.0),
                console,
                # The leases' time, but the bot's pacing waits on the wall: a SimClock's sleep
                # would move every lease on with it.
                ops_clock=FeedClock(clock, WallClock()),
                install_signals=False,
                scheduler=False,
            )
            serving_task, headers = await run_server(server, clock.now_ms())
            assert server.api is not None and server.outbox is not None
            async with httpx.AsyncClient(base_url=server.api.url, headers=headers) as api:
                killed = await api.post(f"{ADMIN}/kill-switch", json={"reason": "drill"})
            assert killed.status_code == 200, killed.text
            assert "applied by 1 worker" in killed.json()["message"]

            # Written by the worker: one kill-switch notice for each of its twelve accounts.
            def kill_rows() -> list[tuple[str, str, bool]]:
                return [r for r in outbox_rows(worker.db) if r[1] == "kill"]

            await until(lambda: len(kill_rows()) == 12, "the worker's kill notices written")
            assert sorted(a for a, _k, _s in kill_rows()) == [f"acct-{i:02d}" for i in range(12)]
            # Sent by the server (the ops lease is its own) at its next collection: every row
            # marked, the investor's in the investor's chat.
            clock.advance(2_000)
            await until(lambda: all(s for _a, _k, s in kill_rows()), "every kill notice sent")
            told = [t for t in bot_api.texts(INVESTOR) if "kill switch" in t.lower()]
            assert len(told) == 1, bot_api.texts(INVESTOR)
            assert server.holds_ops
        finally:
            if server is not None and serving_task is not None:
                server.stop.set()
                await serving_task
            worker.stop.set()
            await asyncio.gather(trading, notices)
            await worker.aclose()
            await nc.close()
            await bot_api.close()

    asyncio.run(scenario())

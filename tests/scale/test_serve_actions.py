"""The actions that change a running engine, sent by ``rampart serve`` to the worker that trades
the account: an engine started and stopped, a profile, a capital change (and a
withdrawal the worker refuses), a close with its hold and the hold lifted, an investor's
intent, a model promoted and rolled back. Each is applied by the worker before the answer,
audited once by the facade, and what the worker refuses comes back as its sentence with
nothing changed."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from rich.console import Console

from rampart.clock import SimClock
from rampart.domain.errors import RampartError
from rampart.domain.intents import Intent, IntentAction
from rampart.domain.orders import Side
from rampart.domain.shards import shard_of
from rampart.messaging.commands import CommandSender
from rampart.messaging.nats_link import command_stream, connect
from rampart.ml.registry import ModelRegistry
from rampart.operator import capital, intents
from rampart.operator.results import STOPPED
from rampart.rollout.api_gates import SERVER
from rampart.store.scale_state import read_states
from rampart.wiring.fleet_parts import build_worker
from rampart.wiring.serve import Server
from tests.ml.helpers import add_model
from tests.scale.nats_server import NatsServer
from tests.scale.test_serve import ADMIN, audited, run_server, serving
from tests.scale.test_workers import (
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


def test_engine_changes_from_rampart_serve_are_applied_by_the_owning_worker(
    nats: NatsServer,  # noqa: F811 - the fixture
    db_url: str,
    tmp_path: Path,
) -> None:
    settings = settings_for(nats.url, db_url)
    models = tmp_path / "models"
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
        await publish(settings, 100)
        await traded_until(w1, close_of(settings, 700))
        for trader in w1.traders.values():
            assert await trader.session.checkpoint_off_loop()

        server = Server(
            serving(settings, 3.0),
            console,
            ops_clock=clock,
            install_signals=False,
            scheduler=False,
            version="v9",
        )
        serving_task, headers = await run_server(server, clock.now_ms())
        assert server.api is not None and server.operator is not None
        operator = server.operator
        desk = operator.investor_desk(settings, None)

        def owned(account_id: str) -> object:
            return w1.traders[shard_of(account_id, SHARDS)].engine.accounts[account_id]

        async with httpx.AsyncClient(base_url=server.api.url, headers=headers, timeout=60) as api:
            # An engine started through the API runs on the worker holding its shard.
            body = {"symbol": "ETH/USDT", "mode": "paper", "capital": "2500"}
            made = await api.post(f"{ADMIN}/engines/start", json=body)
            assert made.status_code == 201, made.text
            engine_id = made.json()["account"]["account_id"]
            assert owned(engine_id).spec.capital == Decimal(2500)  # type: ignore[attr-defined]
            assert audited(server.db, "operator.engine_start") == 1

            # Stopped through the API: paused for good on the worker.
            stopped = await api.post(f"{ADMIN}/engines/{engine_id}/stop", json={"reason": "done"})
            assert stopped.status_code == 200, stopped.text
            assert "applied by 1 worker" in stopped.json()["message"]
            acct = owned(engine_id)
            assert acct.paused and acct.pause_reason == f"{STOPPED}: done"  # type: ignore[attr-defined]
            assert audited(server.db, "operator.engine_stop") == 1

        # A profile change reaches the engine that trades the account.
        await capital.change_profile(desk, desk.require("acct-02"), "conservative", "telegram:7")
        assert owned("acct-02").spec.profile == "conservative"  # type: ignore[attr-defined]
        assert audited(server.db, "operator.profile") == 1

        # A deposit moves the worker's cash and capital together; a withdrawal past the free
        # cash is the worker's refusal, word for word, and changes nothing.
        books = owned("acct-04").ledger  # type: ignore[attr-defined]
        cash, start = books.cash, books.capital
        mirrored = desk.require("acct-04")
        added = await capital.change_capital(desk, mirrored, start + 500, "telegram:7")
        assert added == Decimal(500)
        assert (books.cash, books.capital) == (cash + 500, start + 500)
        assert audited(server.db, "operator.capital") == 1
        with pytest.raises(RampartError, match="You can take out at most"):
            await capital.change_capital(desk, desk.require("acct-04"), Decimal(1), "telegram:7")
        assert (books.cash, books.capital) == (cash + 500, start + 500)
        assert audited(server.db, "operator.capital") == 1

        # /close holds the symbol on the worker's engine; /allow lifts it, once.
        engine = w1.traders[shard_of("acct-05", SHARDS)].engine
        await intents.close(desk, "acct-05", ["BTC/USDT"], 0, "telegram:7")
        assert "BTC/USDT" in engine.holds.active("acct-05", engine.clock.now_ms())
        assert await intents.allow(desk, "acct-05", "BTC/USDT", "telegram:7")
        assert not engine.holds.active("acct-05", engine.clock.now_ms())
        assert not await intents.allow(desk, "acct-05", "BTC/USDT", "telegram:7")
        assert audited(server.db, "operator.allow") == 1

        # An investor's intent goes through the worker's risk engine: one it must refuse (a
        # stop above the entry of a buy) comes back with the risk engine's reason.
        mark = engine.marks["BTC/USDT"]
        bad = Intent(
            account_id="acct-05",
            symbol="BTC/USDT",
            side=Side.BUY,
            action=IntentAction.OPEN,
            entry_price=mark,
            stop_loss=mark * 2,
            take_profit=mark * 3,
            agent="investor",
            ts=engine.clock.now_ms(),
        )
        placed = await intents.place(desk, bad, "telegram:7")
        assert not placed.approved and placed.reason
        assert placed.reason == owned("acct-05").rejections[-1].message  # type: ignore[attr-defined]
        assert audited(server.db, "operator.intent") == 1

        # A model promoted or rolled back: every worker told to switch now.
        registry = ModelRegistry(server.db, models)
        first = add_model(registry, 0.9, 1_000)
        second = add_model(registry, 0.1, 2_000)
        await operator.promote_model(models, first.version, "api:ops")
        promoted = await operator.promote_model(models, second.version, "api:ops")
        assert promoted.production == second.version
        assert promoted.message.endswith("; applied by 1 worker."), promoted.message
        back = await operator.rollback_model(models, "api:ops", "it misbehaves")
        assert back.production == first.version and "applied by 1 worker" in back.message

        server.stop.set()
        await serving_task
        # What it answered is kept for a deploy's gates on its version's API servers.
        [kept] = read_states(server.db, SERVER).values()
        assert (kept["version"], kept["errors"]) == ("v9", 0)
        assert kept["requests"] >= 2 and kept["buckets"]["+Inf"] == kept["requests"]
        w1.stop.set()
        await t1
        await w1.aclose()
        await nc.close()

    asyncio.run(scenario())

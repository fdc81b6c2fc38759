"""One implementation of each operator action, in one process and for the fleet.

The same scenario (engage the kill switch, release it, pause an account, resume it, flatten
another) runs on ``rampart run``'s operator (one trading session) and on ``rampart serve``'s
scaled operator in front of a worker (real NATS with JetStream, PostgreSQL). Both must give the
same decisions, the same events on the facade's bus and on the engines that trade, the same
audit entries and the same results, the kill switch's since-time included, and
``KillSwitchChanged`` on its release. Only how the action reaches the engines differs.

Liveness runs on SimClocks; waiting for the worker is bounded only as a hang guard.
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import fields
from typing import Any

from rich.console import Console

from rampart.clock import SimClock
from rampart.domain.events import KillSwitchChanged
from rampart.messaging.commands import CommandSender
from rampart.messaging.nats_link import command_stream, connect
from rampart.operator.control import Operator
from rampart.operator.results import AccountActionResult, KillSwitchResult
from rampart.risk.restrictions import KILL_SWITCH
from rampart.store.audit import FACADE_SEQ, AuditLog
from rampart.wiring.fleet_parts import build_worker
from rampart.wiring.instruments import instruments_for
from rampart.wiring.serve import Server
from rampart.wiring.session import TradingSession
from tests.conftest import fresh_pg_schema
from tests.scale.nats_server import NatsServer
from tests.scale.test_serve import run_server, serving
from tests.scale.test_workers import (
    HANG_GUARD_S,
    heartbeat,
    nats,  # noqa: F401 - the fixture
    publish,
    settings_for,
    started,
    until,
)

ACTOR = "api:ops"
PAUSED, FLATTENED = "acct-03", "acct-05"
Said = tuple[str, bool, str, str, bool]
"""A ``KillSwitchChanged`` as compared: scope, engaged, reason, actor, flatten."""


def _said(event: object) -> Said | None:
    if not isinstance(event, KillSwitchChanged):
        return None
    return (event.scope, event.engaged, event.reason, event.actor, event.flatten)


class Run:
    """What one mode's run of the scenario gave."""

    def __init__(self) -> None:
        self.facade: list[Said] = []
        """Published on the facade's own bus (``rampart run``'s session; serve's mirror)."""
        self.engines: list[Said] = []
        """Published by the engines that trade (the same session; the worker's shards)."""
        self.results: list[Any] = []
        self.answered_since: int | None = None
        """The kill switch's since-time as the facade shows it once the action answered."""
        self.since: int | None = None
        """The same once settled (the fleet's: after a mirror loaded the shards afresh)."""
        self.restriction_since: int | None = None
        self.clock_at_kill = 0
        self.audit: list[tuple[str, str, str, dict[str, Any]]] = []
        self.stored_by_facade = 0
        """Rows the facade's store writer took from its bus during the scenario (the fleet's
        mirror: none, the workers store what their engines do)."""
        self.shards_since: set[int] = set()
        """The since-time every shard that trades showed while the kill switch was engaged."""


async def scenario(operator: Operator, clock: Any, run: Run, settle: Any) -> None:
    """The operator's actions, each answered and then settled (``settle``: the fleet waits for
    the worker to have acted; one process has nothing to wait for). ``clock``: the facade's
    session's."""
    run.clock_at_kill = clock.now_ms()
    run.results.append(await operator.engage_kill_switch(ACTOR, "drill"))
    run.answered_since = operator.kill_switch().since_ms
    await settle()
    run.since = operator.kill_switch().since_ms
    kill = operator.restrictions(PAUSED)[0]
    run.restriction_since = kill.since if kill.cause == KILL_SWITCH else None
    run.results.append(await operator.release_kill_switch(ACTOR, "drill over"))
    await settle()
    run.results.append(await operator.pause_account(PAUSED, ACTOR, "looking at it"))
    run.results.append(await operator.resume_account(PAUSED, ACTOR, "looked"))
    run.results.append(await operator.pause_account(FLATTENED, ACTOR, "flatten it", flatten=True))
    await settle()


def _audited(db: Any, before: int) -> list[tuple[str, str, str, dict[str, Any]]]:
    entries = [e for e in AuditLog(db).tail(1000) if e.seq > before]
    return [
        (e.action, e.actor, e.target, {k: v for k, v in e.detail.items() if k != FACADE_SEQ})
        for e in entries
        if e.action.startswith("operator.")
    ]


async def in_one_process(settings: Any, db_url: str) -> Run:
    """``rampart run``: the operator over the one trading session."""
    run = Run()
    symbols = list(settings.feed.symbols)
    session = TradingSession(
        settings,
        SimClock(1_000_000),
        instruments_for(symbols),
        db_url=db_url,
        checkpoint_name="run",
        accounts=list(settings.accounts),
        checkpoint_every=10**6,
    )
    await session.open()
    session.finish_resume()
    try:
        session.bus.subscribe(lambda e: run.facade.append(s) if (s := _said(e)) else None)
        run.engines = run.facade  # the facade's engine is the one that trades
        operator = Operator(session, asyncio.Lock(), feed_symbols=symbols)
        before = AuditLog(session.db).head()[0]

        async def settle() -> None:
            return None

        await scenario(operator, session.clock, run, settle)
        run.audit = _audited(session.db, before)
    finally:
        session.discard()
    return run


async def in_the_fleet(settings: Any, nats_url: str) -> Run:
    """``rampart serve``'s scaled operator in front of one worker holding every shard."""
    run = Run()
    clock = SimClock(1_000_000)
    console = Console(quiet=True)
    await publish(settings, 60)
    nc = await connect(nats_url, "test-sender")
    sender = CommandSender(nc, await command_stream(nc), clock)
    worker = build_worker(settings, console, name="w1", ops_clock=clock, install_signals=False)
    trading = await started(worker)
    await until(worker, lambda: worker.caught_up)
    await heartbeat(sender, worker)
    await worker.lease_round()  # the first round says it is here
    await worker.lease_round()
    assert worker.traders, "the worker took no shard"
    for trader in worker.traders.values():  # what the mirror loads: written before the kill
        assert await trader.session.checkpoint_off_loop()
    for trader in worker.traders.values():
        trader.session.bus.subscribe(lambda e: run.engines.append(s) if (s := _said(e)) else None)

    # No scheduler: it would wait on the injected clock (see test_serve.py).
    server = Server(
        serving(settings, HANG_GUARD_S),
        console,
        ops_clock=clock,
        install_signals=False,
        scheduler=False,
    )
    serving_task, _headers = await run_server(server, clock.now_ms())
    operator, mirror = server.operator, server.mirror
    assert operator is not None and mirror is not None
    mirror.session.bus.subscribe(lambda e: run.facade.append(s) if (s := _said(e)) else None)
    before = AuditLog(server.db).head()[0]
    shards = len(worker.traders)
    writer = mirror.session.writer
    assert writer is not None
    pending = writer.pending

    async def settle() -> None:
        """Every shard has said each action the facade has said (a kill stands down after the
        worker answers), and a mirror refresh from the store has not undone the facade's."""

        def caught_up() -> bool:
            wanted = run.facade
            return all(
                run.engines.count(said) >= (shards if said[0] == "global" else 1) for said in wanted
            )

        async with asyncio.timeout(HANG_GUARD_S):
            while not caught_up():
                await asyncio.sleep(0.01)
        async with server.lock:
            # As a serve process started now would: every shard's checkpoint loaded afresh,
            # then the kill switch as the store has it.
            mirror.loaded_ms.clear()
            await mirror.refresh()
        controls = [t.engine.controls for t in worker.traders.values()]
        if all(c.global_kill for c in controls):
            run.shards_since = {c.global_since_ms for c in controls}

    try:
        await scenario(operator, mirror.session.clock, run, settle)
        run.audit = _audited(server.db, before)
        run.stored_by_facade = writer.pending - pending
    finally:
        server.stop.set()
        await serving_task
        worker.stop.set()
        await trading
        await worker.aclose()
        await nc.close()
    # A kill switch said once per shard: the engines' events compared once each.
    run.engines = list(dict.fromkeys(run.engines))
    return run


def _decisions(result: Any) -> dict[str, Any]:
    """What a result decided, leaving out the counts that depend on what each engine traded and
    the sentence's last clause (how the action reached the engines)."""
    if isinstance(result, KillSwitchResult):
        keep = ("engaged", "changed", "reason", "actor", "flatten", "accounts")
        return {name: getattr(result, name) for name in keep}
    assert isinstance(result, AccountActionResult)
    summary = result.account
    return {
        "account_id": summary.account_id,
        "status": summary.status,
        "paused": summary.paused,
        "pause_reason": summary.pause_reason,
    }


def test_each_operator_action_is_the_same_in_one_process_and_in_the_fleet(
    nats: NatsServer,  # noqa: F811 - the fixture
    pg_url: str,
) -> None:
    settings = settings_for(nats.url, pg_url)

    async def both() -> tuple[Run, Run]:
        with fresh_pg_schema(os.environ["RAMPART_TEST_PG_URL"]) as run_url:
            alone = settings.model_copy(
                update={"store": settings.store.model_copy(update={"url": run_url})}
            )
            local = await in_one_process(alone, run_url)
        return local, await in_the_fleet(settings, nats.url)

    local, fleet = asyncio.run(both())

    said = [
        ("global", True, "drill", ACTOR, False),
        ("global", False, "drill over", ACTOR, False),
        (PAUSED, True, "looking at it", ACTOR, False),
        (PAUSED, False, "looked", ACTOR, False),
        (FLATTENED, True, "flatten it", ACTOR, True),
    ]
    # The same events on the facade's bus, the release's KillSwitchChanged included, and the
    # same from the engines that trade.
    assert local.facade == said
    assert fleet.facade == said
    assert fleet.engines == said
    # The kill switch's since-time: the facade's clock when engaged, in both, in its state and
    # in the restriction every front shows (the fleet's after a mirror refresh from the store).
    for run in (local, fleet):
        assert run.answered_since == run.since == run.clock_at_kill
        assert run.restriction_since == run.clock_at_kill
    assert fleet.shards_since == {fleet.since}  # one since-time, on every shard too
    # The fleet's facade stores none of its engine's events: the workers store theirs.
    assert fleet.stored_by_facade == 0
    # One audit entry per action, the same in both.
    assert [a[:3] for a in local.audit] == [
        ("operator.kill", ACTOR, "global"),
        ("operator.unkill", ACTOR, "global"),
        ("operator.pause", ACTOR, PAUSED),
        ("operator.resume", ACTOR, PAUSED),
        ("operator.pause", ACTOR, FLATTENED),
    ]
    assert fleet.audit == local.audit
    # The same results: the same types and fields, the same decisions.
    assert [type(r) for r in fleet.results] == [type(r) for r in local.results]
    for mine, theirs in zip(local.results, fleet.results, strict=True):
        assert [f.name for f in fields(mine)] == [f.name for f in fields(theirs)]
        assert _decisions(theirs) == _decisions(mine)
        # The same sentence, which in the fleet also says how it reached the worker.
        assert theirs.message == mine.message.removesuffix(".") + "; applied by 1 worker."

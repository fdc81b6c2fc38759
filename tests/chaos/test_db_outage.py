"""The database goes away while Rampart trades: entries stop, exits and protection go on, the
account says why, nothing booked during the outage is lost, and trading resumes by itself.

The outages are real (see :mod:`tests.chaos.db_outage`): SQLite's write lock held by another
connection, or PostgreSQL backends terminated and new connections refused. Time is simulated.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from rich.console import Console

from rampart.clock import SimClock
from rampart.config import load_settings
from rampart.domain.events import (
    FillBooked,
    IntentRejected,
    KillSwitchChanged,
    OrderUpdated,
    TradeClosed,
)
from rampart.domain.intents import IntentAction
from rampart.domain.orders import OrderRole
from rampart.loops.candle import CandleLoop
from rampart.operator.control import Operator
from rampart.risk.checks import STORE_UNAVAILABLE_MESSAGE
from rampart.store import models as m
from rampart.store.audit import AuditLog
from rampart.store.writer import MAX_UNSAVED_ROWS
from rampart.wiring.service import Service

from .db_outage import (
    BIG,
    SYMBOL,
    Outage,
    PgHop,
    Rig,
    SqliteLock,
    open_rig,
    published_counts,
    settings_for,
    stored_counts,
)

WARM = 40
"""Candles traded before the outage: the agents are warm and positions are open."""
OUTAGE = 30
AFTER = 30


class Backend:
    def __init__(self, url: str, outage: Outage, lock: SqliteLock | None) -> None:
        self.url = url
        self.outage = outage
        self.lock = lock

    async def rig(self, capital: int | None = None, **store: object) -> Rig:
        rig = await open_rig(settings_for(self.url, capital, **store))
        if self.lock is not None:
            SqliteLock.shorten_waits(rig.session.db)
        return rig


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    if request.param == "sqlite":
        path = tmp_path / "rampart.db"
        lock = SqliteLock(path)
        yield Backend(f"sqlite:///{path}", lock, lock)
        return
    hop = PgHop(request.getfixturevalue("pg_url"))
    try:
        yield Backend(hop.session_url, hop, None)
    finally:
        hop.close()


ACCOUNT = "churn-0"


def _operator(rig: Rig) -> Operator:
    return Operator(rig.session, asyncio.Lock(), feed_symbols=[SYMBOL])


def _rejected_for_store(rig: Rig, phase: str) -> list[IntentRejected]:
    return [e for e in rig.events(IntentRejected, phase) if e.code == "store_unavailable"]


def test_entries_stop_exits_go_on_and_every_event_is_stored_after(backend: Backend) -> None:
    async def scenario() -> Rig:
        rig = await backend.rig(checkpoint_every=3)
        await rig.trade(WARM)
        assert rig.sent_in("before", OrderRole.ENTRY), "the agents must be trading"
        rig.phase = "outage"
        backend.outage.start()
        try:
            # The first checkpoint of the outage fails (inside process: nothing raises).
            while not rig.session.store_down:
                await rig.trade(1)
            rig.phase = "halted"
            await rig.trade(OUTAGE)
            views = rig.session.engine.accounts
            why = await _operator(rig).views.rejections(ACCOUNT)
            assert why and why[0].code == "store_unavailable", "/why must answer during it"
            assert views[ACCOUNT].blocked.get(SYMBOL) == "store_unavailable"
            assert rig.session.writer is not None and rig.session.writer.failing
        finally:
            backend.outage.stop()
        rig.phase = "after"
        await rig.trade(AFTER)
        rig.session.close()
        return rig

    rig = asyncio.run(scenario())
    # Halted: not one entry reached the venue, while positions were still closed, by market
    # exits and by the stop-losses and take-profits resting on the venue.
    assert rig.sent_in("halted", OrderRole.ENTRY) == []
    assert rig.sent_in("halted", OrderRole.EXIT), "market exits must go on"
    # A market entry fills at the next candle's open, so one sent on the last candle before the
    # halt may fill during it; no entry sent while halted ever fills.
    sent_before = {o.client_id for p, o in rig.sent if p != "halted" and o.role is OrderRole.ENTRY}
    halted_fills = rig.events(FillBooked, "halted")
    closing = {e.role for e in halted_fills}
    assert "exit" in closing, closing
    late = [e.fill.client_id for e in halted_fills if e.role == "entry"]
    assert all(c in sent_before for c in late), late
    assert rig.events(TradeClosed, "halted")
    told = _rejected_for_store(rig, "halted") + _rejected_for_store(rig, "outage")
    assert told and all(e.message == STORE_UNAVAILABLE_MESSAGE for e in told)
    assert all(e.intent.action is IntentAction.OPEN for e in told)
    # The store is back: entries resumed by themselves, and the gate is open again.
    assert not rig.session.store_down
    assert rig.sent_in("after", OrderRole.ENTRY)
    # Every order, fill, trade, intent and rejection published is in the database, once.
    db = rig.session.db
    assert published_counts(rig) == stored_counts(db), "rows were lost or duplicated"
    with db.connect() as conn:
        t = m.order_transitions.c
        stored = {tuple(r) for r in conn.execute(sa.select(t.client_id, t.status, t.ts))}
        fills = set(conn.execute(sa.select(m.fills.c.fill_id)).scalars())
    moves = {
        (e.order.client_id, e.order.status.value, e.ts)
        for phase in ("outage", "halted")
        for e in rig.events(OrderUpdated, phase)
    }
    booked = {e.fill.fill_id for p in ("outage", "halted") for e in rig.events(FillBooked, p)}
    assert moves and moves <= stored and booked and booked <= fills


def test_past_the_buffer_limit_entries_stay_halted_and_nothing_is_dropped(tmp_path: Path) -> None:
    limit = 40
    path = tmp_path / "rampart.db"
    lock = SqliteLock(path)
    backend = Backend(f"sqlite:///{path}", lock, lock)

    async def scenario() -> tuple[Rig, list[int], int]:
        # Checkpoints never come due: only the limit makes the writer write.
        rig = await backend.rig(checkpoint_every=10**6, max_unsaved_rows=limit)
        writer = rig.session.writer
        assert writer is not None and writer.max_unsaved == limit
        await rig.trade(WARM)
        assert writer.stats.flushes > 0 and writer.pending <= limit * 2
        rig.phase = "outage"
        lock.start()
        pending: list[int] = []
        try:
            while not rig.session.store_down:
                await rig.trade(1)
            rig.phase = "halted"
            for _ in range(OUTAGE * 3):
                await rig.trade(1)
                pending.append(writer.pending)
        finally:
            lock.stop()
        peak = writer.pending
        rig.phase = "after"
        await rig.trade(AFTER)
        rig.session.close()
        return rig, pending, peak

    rig, pending, peak = asyncio.run(scenario())
    assert peak > limit, "the outage must push the buffer past its limit"
    assert pending == sorted(pending), "the buffer only grows while nothing can be written"
    assert rig.sent_in("halted", OrderRole.ENTRY) == []
    assert rig.sent_in("halted", OrderRole.EXIT), "exits go on past the limit"
    assert rig.sent_in("after", OrderRole.ENTRY)
    assert published_counts(rig) == stored_counts(rig.session.db)


def test_the_limit_is_a_stated_setting() -> None:
    assert settings_for("sqlite:///x.db").store.max_unsaved_rows == MAX_UNSAVED_ROWS


def test_kill_switch_engaged_during_the_outage_is_truthful_and_stored_after(
    backend: Backend,
) -> None:
    async def scenario() -> tuple[Rig, object]:
        rig = await backend.rig(BIG, checkpoint_every=3)
        # Trade until two accounts hold an entry the venue is still filling, one of whose
        # cancels will time out.
        for _ in range(200):
            await rig.trade(1)
            working = {
                a for a, acct in rig.session.engine.accounts.items() if acct.working_entries()
            }
            if len(working) >= 2:
                break
        unknown, canceled = sorted(working)[:2]
        rig.unknown_cancels.add(unknown)
        rig.phase = "outage"
        backend.outage.start()
        try:
            result = await _operator(rig).engage_kill_switch("ops", "database outage drill")
            assert rig.session.engine.controls.global_kill
            await rig.trade(5)
            assert rig.session.store_down
        finally:
            backend.outage.stop()
        rig.phase = "after"
        await rig.trade(5)
        rig.session.close()
        rig.unknown_cancels.clear()
        return rig, (result, unknown, canceled)

    rig, (result, unknown, canceled) = asyncio.run(scenario())
    outcomes = {e.account_id: e.outcome for e in result.entries}
    assert outcomes[unknown] == "unknown" and outcomes[canceled] == "canceled"
    assert result.entries_unknown >= 1 and result.entries_canceled >= 1
    assert "unknown outcome" in result.message and "may still fill" in result.message
    assert rig.sent_in("outage", OrderRole.ENTRY) == []
    # The engage event, published with the database down, was stored when it came back.
    assert len(rig.events(KillSwitchChanged, "outage")) == 1
    assert published_counts(rig) == stored_counts(rig.session.db)
    db = rig.session.db
    with db.connect() as conn:
        kind = m.account_events.c.kind
        rows = conn.execute(m.account_events.select().where(kind == "kill_switch")).all()
    # The operator's engage, stored once; the shipped $50 position-loss kill may also have
    # stopped an account of these 5,000,000 USDT ones (its own rows, by "risk").
    (row,) = [r for r in rows if r.actor == "ops"]
    assert row.new == "engaged"
    assert all(r.actor in ("ops", "risk", "system") for r in rows), rows
    assert AuditLog(db).verify().ok


def test_the_service_counts_a_failed_write_as_the_database_down(backend: Backend) -> None:
    """The service's own wiring: the failed write drops ``rampart_database_up`` at once (a
    locked SQLite still answers the probe's SELECT 1), an unreachable server halts entries at
    the next health sample, DatabaseDown opens its P0, and all of it clears by itself."""
    ops = SimClock(1_700_000_000_000)
    settings = load_settings(
        store={"url": backend.url, "checkpoint_every": 3},
        feed={"speed": 1e9},
        api={"enabled": False},
    )
    service = Service(
        settings, Console(file=io.StringIO()), view=False, ops_clock=ops, install_signals=False
    )

    def up() -> float | None:
        return service.metrics.registry.get_sample_value("rampart_database_up")

    async def trade(n: int) -> None:
        session = service.session
        loop = service.parts.engine_loop
        assert isinstance(loop, CandleLoop)
        for _ in range(n):
            candle = loop.next_candle()
            assert candle is not None
            async with service.lock:
                service.clock.set(max(service.clock.now_ms(), candle.close_ts))
                await session.process(candle)

    async def scenario() -> list[tuple[int, str]]:
        await service.open()
        session, alerts = service.session, service.alerts
        assert alerts is not None
        if backend.lock is not None:
            SqliteLock.shorten_waits(session.db)
        await trade(30)
        await service.parts.health_loop.sample()
        assert up() == 1 and not session.store_down
        notices: list[tuple[int, str]] = []
        backend.outage.start()
        try:
            started = ops.now_ms()
            await service.parts.health_loop.sample()
            if backend.lock is not None:
                # SELECT 1 passes under the lock: only the failed write can tell.
                assert up() == 1 and not session.store_down
                while not session.store_down:
                    await trade(1)
            assert up() == 0 and session.store_down, "the gauge must drop at once"
            for _ in range(8):
                for notice in await alerts.evaluate(ops.now_ms()):
                    notices.append((ops.now_ms() - started, f"{notice.kind} {notice.rule}"))
                await trade(1)
                await service.parts.health_loop.sample()
                assert up() == 0
                ops.advance(5_000)
        finally:
            backend.outage.stop()
        await trade(3)
        await service.parts.health_loop.sample()
        assert up() == 1 and not session.store_down
        for _ in range(13):  # resolves once a minute passes without repeated failures
            for notice in await alerts.evaluate(ops.now_ms()):
                notices.append((ops.now_ms() - started, f"{notice.kind} {notice.rule}"))
            ops.advance(5_000)
        service.close()
        return notices

    notices = asyncio.run(scenario())
    fired = [ms for ms, what in notices if what == "firing DatabaseDown"]
    # The P0 follows the failed write by the rule's 5 s hold, not a probe cycle plus 30 s.
    assert fired and fired[0] <= 5_000, notices
    assert any(what == "resolved DatabaseDown" for _, what in notices), notices


def test_the_operators_kill_switch_entry_is_audited_once_the_database_is_back(
    backend: Backend,
) -> None:
    """The facade's own audit entry (who engaged the kill switch and why) goes through the
    store's buffered writer: an outage delays it, never loses it."""

    async def scenario() -> Rig:
        rig = await backend.rig(checkpoint_every=3)
        await rig.trade(5)
        backend.outage.start()
        try:
            await _operator(rig).engage_kill_switch("ops", "database outage drill")
            await rig.trade(3)
            assert rig.session.store_down
        finally:
            backend.outage.stop()
        await rig.trade(5)
        rig.session.close()
        return rig

    rig = asyncio.run(scenario())
    log = AuditLog(rig.session.db)
    kills = log.tail(100, "operator.kill")
    assert [(e.actor, e.target, e.detail["reason"]) for e in kills] == [
        ("ops", "global", "database outage drill")
    ]
    assert log.verify().ok

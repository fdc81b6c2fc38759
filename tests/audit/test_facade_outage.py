"""An incident acknowledged and a rollout promotion approved are the facade's numbered, buffered
actions too: when the database goes down right after the action (its own row is written, the
audit entry is not yet), the entry waits in the store writer's buffer and is written, with its
``facade_seq``, once the database is back; one entry per action, and deleting it (with the
chain rebuilt after it) makes ``audit verify`` report the gap in the facade's numbers."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import pytest

from rampart.ml.registry import ModelRegistry
from rampart.observability import incidents as incident_store
from rampart.operator.control import Operator
from rampart.rollout.controller import RolloutController
from rampart.rollout.desk import desk_of, serve_desk
from rampart.rollout.enforce import Affected
from rampart.rollout.settings import RolloutConfig, StageConfig
from rampart.rollout.state import load_state, save_state
from rampart.store import ops_records
from rampart.store.audit import AuditLog
from tests.audit.test_facade_sequence import _delete_and_rechain
from tests.chaos.db_outage import SYMBOL, Outage, PgHop, Rig, SqliteLock, open_rig, settings_for
from tests.ml.helpers import add_model

ROLLOUT = RolloutConfig(
    enabled=True, stages=[StageConfig(name="internal"), StageConfig(name="open")]
)


@pytest.fixture(params=["sqlite", "postgresql"])
def outage(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, Outage]]:
    if request.param == "sqlite":
        path = tmp_path / "rampart.db"
        yield f"sqlite:///{path}", SqliteLock(path)
        return
    hop = PgHop(request.getfixturevalue("pg_url"))
    try:
        yield hop.session_url, hop
    finally:
        hop.close()


async def _rig(url: str, outage: Outage | None) -> tuple[Rig, Operator]:
    rig = await open_rig(settings_for(url))
    if isinstance(outage, SqliteLock):
        SqliteLock.shorten_waits(rig.session.db)
    await rig.trade(3)
    return rig, Operator(rig.session, asyncio.Lock(), feed_symbols=[SYMBOL])


Act = Callable[[Rig, Operator, Outage, pytest.MonkeyPatch], Awaitable[None]]


def _run(url: str, outage: Outage, act: Act, monkeypatch: pytest.MonkeyPatch) -> Rig:
    async def scenario() -> Rig:
        rig, operator = await _rig(url, outage)
        await operator.engage_kill_switch("ops", "before")  # facade entry 1
        await act(rig, operator, outage, monkeypatch)
        assert rig.session.writer is not None and rig.session.writer.pending  # it waits
        await operator.save_now()  # the first write that succeeds takes the buffered entry
        await operator.release_kill_switch("ops", "after")  # facade entry 3
        rig.session.close()
        return rig

    return asyncio.run(scenario())


def _check(rig: Rig, action: str) -> None:
    db = rig.session.db
    log = AuditLog(db)
    entries = [e for e in log.tail(1000) if e.action.startswith("operator.")]
    print([(e.action, e.detail) for e in entries])
    assert [(e.action, e.detail["facade_seq"]) for e in entries] == [
        ("operator.kill", 1),
        (action, 2),
        ("operator.unkill", 3),
    ]
    bare = action.removeprefix("operator.")
    assert not [e for e in log.tail(1000) if e.action == bare]  # one entry, not two
    assert log.verify().ok
    _delete_and_rechain(db, entries[1].seq)
    verdict = log.verify()
    assert verdict.problem is not None and "operator entry 2 is missing" in verdict.problem


async def _ack(
    rig: Rig, operator: Operator, outage: Outage, monkeypatch: pytest.MonkeyPatch
) -> None:
    found = incident_store.open_incident(
        rig.session.db,
        key="k",
        rule="DbDown",
        severity="P1",
        summary="the store is down",
        value=None,
        threshold=None,
        labels={},
        now_ms=rig.clock.now_ms(),
    )
    acknowledge = incident_store.acknowledge

    def then_down(*args: object) -> incident_store.IncidentRecord:
        done = acknowledge(*args)  # type: ignore[arg-type]
        outage.start()  # the incident is acknowledged; its audit entry not yet written
        return done

    monkeypatch.setattr(incident_store, "acknowledge", then_down)
    try:
        await operator.acknowledge_incident(found.id, "api:ops")
    finally:
        outage.stop()


async def _approve(
    rig: Rig, operator: Operator, outage: Outage, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = rig.session.db
    ctl = RolloutController(ROLLOUT, db, rig.clock, engine=rig.session.engine, lock=operator.lock)
    await ctl.start()
    state = load_state(db)
    assert state is not None
    state.pending_since = rig.clock.now_ms()
    with db.begin() as conn:
        save_state(conn, state, rig.clock.now_ms())
    record_event, apply = ops_records.record_event, ctl.apply

    def then_down(*args: object) -> None:
        record_event(*args)  # type: ignore[arg-type]
        outage.start()  # the stage is changed; its audit entry not yet written

    async def back_then_apply() -> list[Affected]:
        outage.stop()  # back before the engine takes the stage (it reads the stored state)
        return await apply()

    monkeypatch.setattr(ops_records, "record_event", then_down)
    monkeypatch.setattr(ctl, "apply", back_then_apply)
    serve_desk(operator)
    desk = desk_of(operator)
    desk.use(ctl)
    await desk.approve("api:ops")


def test_an_incident_acknowledged_as_the_store_goes_down_is_audited_once_after(
    outage: tuple[str, Outage], monkeypatch: pytest.MonkeyPatch
) -> None:
    rig = _run(*outage, _ack, monkeypatch)
    _check(rig, "operator.incident.ack")


def test_a_rollout_approved_as_the_store_goes_down_is_audited_once_after(
    outage: tuple[str, Outage], monkeypatch: pytest.MonkeyPatch
) -> None:
    rig = _run(*outage, _approve, monkeypatch)
    _check(rig, "operator.rollout.approve")


def test_a_model_promoted_and_rolled_back_through_the_facade_is_one_numbered_entry_each(
    db_url: str, tmp_path: Path
) -> None:
    async def scenario() -> Rig:
        rig, operator = await _rig(db_url, None)
        registry = ModelRegistry(rig.session.db, tmp_path / "models")
        a = add_model(registry, 0.9, 1_000)
        b = add_model(registry, 0.1, 2_000)
        await operator.promote_model(tmp_path / "models", a.version, "api:ops")
        await operator.promote_model(tmp_path / "models", b.version, "api:ops")
        await operator.rollback_model(tmp_path / "models", "api:ops", "b misbehaves")
        rig.session.close()
        return rig

    log = AuditLog(asyncio.run(scenario()).session.db)
    moves = {"model.promote", "model.rollback"}  # written directly: a second entry each
    entries = [e for e in log.tail(1000) if e.action.removeprefix("operator.") in moves]
    assert [(e.action, e.detail["facade_seq"]) for e in entries] == [
        ("operator.model.promote", 1),
        ("operator.model.promote", 2),
        ("operator.model.rollback", 3),
    ]
    assert entries[2].detail["to"] == entries[0].target

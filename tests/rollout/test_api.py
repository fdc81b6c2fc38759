"""The rollout over HTTP on a real server and engine: status, refusals in one sentence,
hold, approve (the engine takes the new stage at once), GO/NO-GO and the two drills."""

from __future__ import annotations

from collections.abc import Callable

from rampart.domain.accounts import TradingState
from rampart.rollout.controller import RolloutController
from rampart.rollout.enforce import STAGE_BREAKER
from rampart.rollout.state import load_state, save_state
from rampart.store import ops_records
from tests.api.conftest import LiveApi

ADMIN = "/api/v1/admin"
STAGES = [
    {"name": "internal", "users": ["alice"], "symbols": ["BTC/USDT"], "min_duration_h": 24},
    {"name": "limited", "users": ["alice", "bob"], "min_duration_h": 48},
    {"name": "open"},
]


def test_rollout_endpoints(make_live: Callable[..., LiveApi]) -> None:
    api = make_live(warm=200, rollout={"enabled": True, "stages": STAGES})
    db = api.session.db
    ctl = RolloutController(api.settings.rollout, db, api.ops, engine=api.engine, lock=api.ctx.lock)
    api.ctx.rollout = ctl
    api.call(ctl.start())
    accounts = api.engine.accounts
    assert api.engine.stage.name == "internal"
    assert accounts["bob"].state is TradingState.REDUCING  # not invited yet
    assert accounts["bob"].breakers.halted_by == STAGE_BREAKER
    assert accounts["alice"].breakers.halted_by != STAGE_BREAKER

    body = api.get(f"{ADMIN}/rollout").json()
    assert (body["stage"], body["next_stage"], body["approval"]) == (
        "internal",
        "limited",
        "operator",
    )
    assert [t["kind"] for t in body["transitions"]] == ["start"]

    r = api.post(f"{ADMIN}/rollout/approve", {})
    assert r.status_code == 409
    assert r.json()["error"].startswith("No promotion of the 'internal' stage is waiting")
    r = api.post(f"{ADMIN}/rollout/rollback", {"reason": "test"})
    assert r.status_code == 409 and "first stage" in r.json()["error"]
    assert api.get(f"{ADMIN}/rollout", who="alice").status_code == 403

    r = api.post(f"{ADMIN}/rollout/hold", {"reason": "waiting for the audit"})
    assert r.status_code == 200 and r.json()["held"] is True
    assert api.post(f"{ADMIN}/rollout/hold", {"reason": "again"}).status_code == 409
    api.post(f"{ADMIN}/rollout/hold", {"reason": "audit done", "release": True})

    # A promotion waiting for approval: approving applies the stage to the engine at once.
    state = load_state(db)
    assert state is not None and not state.held
    state.pending_since = api.ops.now_ms()
    with db.begin() as conn:
        save_state(conn, state, api.ops.now_ms())
    r = api.post(f"{ADMIN}/rollout/approve", {})
    assert r.status_code == 200 and r.json()["stage"] == "limited"
    assert api.engine.stage.name == "limited"
    assert accounts["bob"].breakers.halted_by != STAGE_BREAKER
    kinds = [t["kind"] for t in r.json()["transitions"]]
    assert kinds == ["approve", "release", "hold", "start"]

    report = api.get(f"{ADMIN}/go-nogo").json()
    assert report["verdict"] == "NO-GO"
    assert {c["name"] for c in report["criteria"]} >= {"order success", "kill-switch drill"}

    r = api.post(f"{ADMIN}/drills/kill-switch")
    assert r.status_code == 200, r.text
    assert api.engine.controls.global_kill is False
    assert ops_records.last_event(db, ops_records.KILL_DRILL) is not None
    r = api.post(f"{ADMIN}/alerts/test")
    assert r.status_code == 200 and r.json()["detail"]["channels"] == ["LogNotifier"]
    assert ops_records.last_event(db, ops_records.ALERT_TEST) is not None
    kill = {c["name"]: c["verdict"] for c in api.get(f"{ADMIN}/go-nogo").json()["criteria"]}
    assert kill["kill-switch drill"] == kill["alert channels tested"] == "pass"

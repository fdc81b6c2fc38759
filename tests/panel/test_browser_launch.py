"""Approving a waiting rollout stage from the Launch page: the engine takes the new stage."""

from __future__ import annotations

from typing import Any

from rampart.rollout.controller import RolloutController
from rampart.rollout.state import load_state, save_state
from tests.api.conftest import LiveApi
from tests.panel.conftest import Offline, sign_in
from tests.panel.test_browser_actions import ADMIN, act

STAGES = [
    {"name": "internal", "users": ["alice"], "symbols": ["BTC/USDT"], "min_duration_h": 24},
    {"name": "limited", "users": ["alice", "bob"], "min_duration_h": 48},
    {"name": "open"},
]


def test_approve_a_waiting_rollout_stage_from_the_launch_page(
    tmp_path: Any, offline: Offline
) -> None:
    api = LiveApi(tmp_path, rollout={"enabled": True, "stages": STAGES})
    try:
        api.start(200)
        ctl = RolloutController(
            api.settings.rollout, api.session.db, api.ops, engine=api.engine, lock=api.ctx.lock
        )
        api.ctx.rollout = ctl
        api.call(ctl.start())
        assert api.engine.stage.name == "internal"
        # A promotion waiting for the operator's approval (its gates passed).
        db = api.session.db
        state = load_state(db)
        assert state is not None
        state.pending_since = api.ops.now_ms()
        with db.begin() as conn:
            save_state(conn, state, api.ops.now_ms())

        base = api.server.url
        page = sign_in(offline, base, api.tokens["admin"])
        page.get_by_role("navigation").get_by_role("link", name="Launch").click()
        page.wait_for_url(f"{base}/panel/launch")
        said = act(page, "Approve stage")
        assert "limited" in said, said
        assert api.engine.stage.name == "limited"
        assert api.get(f"{ADMIN}/rollout").json()["stage"] == "limited"
    finally:
        api.stop()

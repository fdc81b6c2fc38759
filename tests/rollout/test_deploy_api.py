"""The blue-green deploy over HTTP (admin token): its status says the step, the share
and the step's gates, and who rolled it back and why; a rollback gives every shard back, is
audited under the admin's name, and a second one is refused in one sentence."""

from __future__ import annotations

from pathlib import Path

from rampart.rollout.deploy import Deployer
from rampart.store.audit import AuditLog
from rampart.store.leases import ShardLeases
from tests.api.conftest import LiveApi

ADMIN = "/api/v1/admin"


def test_the_deploy_over_http(tmp_path: Path) -> None:
    api = LiveApi(tmp_path)
    try:
        api.start(warm=50)
        assert api.get(f"{ADMIN}/deploy").json()["deploy"] is None

        db, clock = api.session.db, api.ctx.operator.business
        shards = api.settings.scale.shards
        lease_ms = int(api.settings.scale.lease_s * 1000)
        ShardLeases(db, "w1", clock, lease_ms, version="v1").beat()
        ShardLeases(db, "w2", clock, lease_ms, version="v2", role="standby").beat()
        rollout = api.settings.rollout
        deployer = Deployer(db, shards, rollout.gate_list(), clock.now_ms, lease_ms=lease_ms)
        deploy = deployer.start("v2", "ops")

        shown = api.get(f"{ADMIN}/deploy").json()
        assert (shown["deploy"]["id"], shown["deploy"]["status"]) == (deploy.id, "running")
        assert shown["fraction"] == 0.1 and shown["ready"] is False
        assert [g["metric"] for g in shown["gates"]] == [
            r.gate.metric for r in deployer.check(deploy).results
        ]

        back = api.post(f"{ADMIN}/deploy/rollback", {"reason": "errors on v2"})
        assert back.status_code == 200, back.text
        assert back.json()["fraction"] == 0.0 and back.json()["balancer"] == ""
        stored = deployer.state()
        assert stored is not None and stored.status == "rolled_back"
        assert stored.reason == "errors on v2" and not stored.rolled_back_by_gates
        [entry] = AuditLog(db).tail(action="deploy.rollback")
        assert entry.target == deploy.id and entry.actor == stored.actor != "system"

        again = api.post(f"{ADMIN}/deploy/rollback", {"reason": "twice"})
        assert again.status_code == 400
        assert again.json()["error"].startswith("No deploy is running")
        shown = api.get(f"{ADMIN}/deploy").json()
        assert shown["deploy"]["status"] == "rolled_back" and shown["fraction"] == 0.0
    finally:
        api.stop()

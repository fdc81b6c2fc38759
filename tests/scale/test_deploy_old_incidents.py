"""A deploy is judged by what came after it started, on PostgreSQL.

A fleet run found the deploy gates counting P0/P1 incidents opened *before* the deploy started:
a healthy deploy rolled back at its first check, and no version could be deployed while any
older incident stayed open (the fix for it included). Now an incident opened before the deploy
started is not counted; one opened during it still is, and its first P0 rolls it back."""

from __future__ import annotations

import sqlalchemy as sa

from rampart.observability import incidents as incident_store
from rampart.rollout.deploy import Deployer
from rampart.rollout.deploy_state import ROLLED_BACK, RUNNING, DeployState
from rampart.rollout.deploy_watch import HARD, DeployWatch
from rampart.rollout.rules.gates import OPEN_P0, P1_INCIDENTS, Verdict, default_gates
from rampart.store.db import open_database
from rampart.store.scale_state import DEPLOY, record_take_failure, write_state

STARTED = 10_000_000


def _incident(db: sa.Engine, rule: str, severity: str, at: int) -> None:
    incident_store.open_incident(
        db, key=rule, rule=rule, severity=severity, summary=f"{rule}.", value=1.0,
        threshold=0.0, labels={}, now_ms=at,
    )  # fmt: skip


def _verdicts(deployer: Deployer, deploy: DeployState) -> dict[str, Verdict]:
    check = deployer.check(deploy)
    return {r.gate.metric: r.verdict for r in check.results if r.gate.metric in HARD}


def _running(db: sa.Engine) -> tuple[Deployer, DeployState]:
    """A deployer a minute into a deploy of v2 started at STARTED, and that deploy."""
    deployer = Deployer(db, 4, default_gates(), lambda: STARTED + 60_000, lease_ms=6_000)
    deploy = DeployState(
        "d1", "v1", "v2", (0.5, 1.0), (60.0, 60.0), 0, RUNNING, STARTED, STARTED, "ops"
    )
    return deployer, deploy


def test_older_incidents_do_not_fail_a_deploy_and_its_own_do(pg_url: str) -> None:
    db = open_database(pg_url)
    try:
        deployer, deploy = _running(db)
        # Opened an hour before the deploy, still open: not the new version's doing.
        _incident(db, "BooksDifferUnrepaired", "P0", STARTED - 3_600_000)
        _incident(db, "ExchangeApiErrors", "P1", STARTED - 60_000)
        verdicts = _verdicts(deployer, deploy)
        assert verdicts[OPEN_P0] is Verdict.PASS
        assert verdicts[P1_INCIDENTS] is Verdict.PASS
        # One opened during the deploy is its own: the hard gate fails (a rollback).
        _incident(db, "DatabaseDown", "P0", STARTED + 30_000)
        assert _verdicts(deployer, deploy)[OPEN_P0] is Verdict.FAIL
    finally:
        db.dispose()


def test_a_broken_version_is_rolled_back_for_its_own_failed_takes(pg_url: str) -> None:
    """Older incidents open, the watch leaves a deploy be; the new version's workers then fail
    every shard take (the exchange refuses them): rolled back for that, named, at once."""
    db = open_database(pg_url)
    try:
        deployer, deploy = _running(db)
        write_state(db, DEPLOY, deploy.to_dict(), STARTED)
        _incident(db, "BooksDifferUnrepaired", "P0", STARTED - 3_600_000)
        watch = DeployWatch(deployer)
        assert "rolled back" not in watch.check()
        assert (state := deployer.state()) is not None and state.status == RUNNING
        seen: list[int] = []
        for i in range(3):
            record_take_failure(db, "green-1", "v2", seen, STARTED + 1_000 * (i + 1))
        record_take_failure(db, "blue-1", "v1", [], STARTED + 5_000)  # not the new version's
        said = watch.check()
        back = deployer.state()
        assert back is not None and back.status == ROLLED_BACK, said
        assert "the new version's shard takes" in back.reason
        assert "incident" not in back.reason
    finally:
        db.dispose()

"""A deploy's gates count only what the new version's processes did: a WorkerDown (P1) for the
old version's stalled worker during the step does not roll a healthy deploy back; the same
alert for a new version's worker, or one naming no process, still fails the hard gate."""

from __future__ import annotations

import sqlalchemy as sa

from rampart.observability import incidents as incident_store
from rampart.rollout.deploy import Deployer
from rampart.rollout.deploy_state import RUNNING, DeployState
from rampart.rollout.deploy_watch import HARD
from rampart.rollout.rules.gates import OPEN_P0, P1_INCIDENTS, Verdict, default_gates
from rampart.store.db import open_database
from rampart.store.models.scale import scale_workers

STARTED = 10_000_000


def _worker(db: sa.Engine, name: str, version: str) -> None:
    row = {"name": name, "seen_ms": STARTED, "started_ms": STARTED, "version": version}
    with db.begin() as conn:
        conn.execute(sa.insert(scale_workers).values(role="active", metrics_url="", **row))


def _incident(db: sa.Engine, rule: str, severity: str, labels: dict[str, str]) -> int:
    record = incident_store.open_incident(
        db, key=f"{rule}{sorted(labels.items())}", rule=rule, severity=severity,
        summary=f"{rule}.", value=1.0, threshold=0.0, labels=labels, now_ms=STARTED + 30_000,
    )  # fmt: skip
    return record.id


def _verdicts(db: sa.Engine) -> dict[str, Verdict]:
    deployer = Deployer(db, 4, default_gates(), lambda: STARTED + 60_000, lease_ms=6_000)
    deploy = DeployState(
        "d1", "v1", "v2", (0.5, 1.0), (60.0, 60.0), 0, RUNNING, STARTED, STARTED, "ops"
    )
    check = deployer.check(deploy)
    return {r.gate.metric: r.verdict for r in check.results if r.gate.metric in HARD}


def test_the_old_versions_stalled_worker_does_not_fail_the_new_version(db_url: str) -> None:
    db = open_database(db_url)
    try:
        _worker(db, "blue-1", "v1")
        _worker(db, "green-1", "v2")
        old = _incident(db, "WorkerDown", "P1", {"component": "blue-1"})
        _incident(db, "MemoryGrowth", "P0", {"process": "blue-1"})
        verdicts = _verdicts(db)
        assert verdicts[P1_INCIDENTS] is Verdict.PASS
        assert verdicts[OPEN_P0] is Verdict.PASS
        incident_store.resolve(db, old, STARTED + 40_000, "cleared")
        _incident(db, "WorkerDown", "P1", {"component": "green-1"})
        assert _verdicts(db)[P1_INCIDENTS] is Verdict.FAIL
    finally:
        db.dispose()


def test_an_incident_naming_no_process_still_counts(db_url: str) -> None:
    db = open_database(db_url)
    try:
        _worker(db, "blue-1", "v1")
        _incident(db, "ShardsUnheld", "P1", {})
        assert _verdicts(db)[P1_INCIDENTS] is Verdict.FAIL
    finally:
        db.dispose()

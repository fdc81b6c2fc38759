"""A deploy step is also held to the new version's API servers: their uptime, their
server-error rate and their p95 latency over the step, at the rollout's uptime, error and
latency thresholds, from the totals each ``rampart serve`` keeps in the store. A server that
stops lowers the uptime; the totals before the step do not count; a version with no API server
of its own is not gated on one."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from rampart.clock import SimClock
from rampart.rollout.api_gates import SERVER, server_record
from rampart.rollout.deploy import Deployer, DeployRefused
from rampart.rollout.rules.gates import default_gates
from rampart.store.db import open_database
from rampart.store.leases import ShardLeases
from rampart.store.scale_state import write_state

SHARDS = 4
LEASE_MS = 6_000
GATES = [
    g
    for g in default_gates(latency_target_ms=200.0)
    if g.metric in {"uptime", "execution_error_rate", "order_latency_p95_ms"}
]
"""Uptime >= 99.9 %, errors < 0.1 % over 20 or more, p95 <= 220 ms (the SLO + 10 %)."""


def totals(requests: int, errors: int, slow: int) -> dict[str, object]:
    """``requests`` answers, ``slow`` of them past 0.25 s (the rest under 0.1 s)."""
    fast = requests - slow
    return {
        "requests": requests,
        "errors": errors,
        "buckets": {"0.1": fast, "0.25": fast, "1.0": requests, "+Inf": requests},
    }


@pytest.fixture
def db(tmp_path: Path) -> sa.Engine:
    return open_database(f"sqlite:///{tmp_path / 'rampart.db'}")


def report(
    db: sa.Engine,
    name: str,
    version: str,
    started: int,
    now: int,
    ready_s: float,
    t: dict[str, object],
) -> None:
    write_state(db, SERVER + name, server_record(version, started, now, ready_s, t), now)


def results(deployer: Deployer) -> dict[str, tuple[str, str]]:
    deploy = deployer.state()
    assert deploy is not None
    return {
        r.gate.metric: (r.verdict.value, r.reason)
        for r in deployer.check(deploy).results
        if r.gate.metric.startswith("api_")
    }


def test_the_new_versions_api_servers_gate_the_step(db: sa.Engine) -> None:
    clock = SimClock(10_000_000)
    ShardLeases(db, "blue", clock, LEASE_MS, version="v1").beat()
    ShardLeases(db, "green", clock, LEASE_MS, version="v2", role="standby").beat()
    t0 = clock.now_ms()
    # Before the step: an old server, and a new one that already answered 500 slow errors.
    report(db, "old", "v1", t0 - 60_000, t0, 60.0, totals(1000, 900, 1000))
    report(db, "new", "v2", t0 - 60_000, t0, 60.0, totals(500, 500, 500))
    deployer = Deployer(db, SHARDS, GATES, clock.now_ms, lease_ms=LEASE_MS)
    deployer.start("v2", "ops", (0.5, 1.0), (0.0, 0.0))

    # 100 s into the step: 400 answers, none an error, all fast, ready throughout.
    clock.advance(100_000)
    now = clock.now_ms()
    report(db, "new", "v2", t0 - 60_000, now, 160.0, totals(900, 500, 500))
    report(db, "old", "v1", t0 - 60_000, now, 60.0, totals(5000, 4000, 5000))  # not v2's
    shown = results(deployer)
    assert shown["api_uptime"][0] == "pass", shown
    assert shown["api_error_rate"][0] == "pass", shown
    assert shown["api_latency_p95_ms"] == ("pass", shown["api_latency_p95_ms"][1])
    assert "100.00 %" in shown["api_uptime"][1] and "1 server of v2" in shown["api_uptime"][1]
    assert "0.00 %" in shown["api_error_rate"][1] and "400 samples" in shown["api_error_rate"][1]
    assert "100" in shown["api_latency_p95_ms"][1]  # the 0.1 s bucket holds the p95

    # One 5xx in the next 100 answers: 1 in 500 is 0.20 %, past 0.1 %: the step is refused.
    report(db, "new", "v2", t0 - 60_000, now, 160.0, totals(1000, 501, 500))
    assert results(deployer)["api_error_rate"][0] == "fail"
    with pytest.raises(DeployRefused, match=r"API server errors \(new servers\): 0\.20 %"):
        deployer.step("ops")

    # 30 answers of the next 100 past 0.25 s: the p95 is in the 1 s bucket, past 220 ms.
    report(db, "new", "v2", t0 - 60_000, now, 160.0, totals(1000, 500, 530))
    assert results(deployer)["api_latency_p95_ms"][0] == "fail"


def test_a_stopped_server_lowers_the_uptime_and_a_version_without_servers_is_not_gated(
    db: sa.Engine,
) -> None:
    clock = SimClock(10_000_000)
    ShardLeases(db, "blue", clock, LEASE_MS, version="v1").beat()
    ShardLeases(db, "green", clock, LEASE_MS, version="v2", role="standby").beat()
    deployer = Deployer(db, SHARDS, GATES, clock.now_ms, lease_ms=LEASE_MS)
    deploy = deployer.start("v2", "ops", (0.5, 1.0), (0.0, 0.0))
    assert results(deployer) == {}  # no API server of v2: its API is not gated

    start = clock.now_ms()
    report(db, "new", "v2", start, start, 0.0, totals(0, 0, 0))
    clock.advance(10_000)
    report(db, "new", "v2", start, clock.now_ms(), 10.0, totals(100, 0, 0))
    assert results(deployer)["api_uptime"][0] == "pass"
    # It stops reporting (it died) while the step's clock runs on: 10 s up of 1,000.
    clock.advance(990_000)
    verdict, reason = results(deployer)["api_uptime"]
    assert verdict == "fail" and "1.00 %" in reason, reason
    assert deployer.state() == deploy

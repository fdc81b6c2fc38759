"""A service soak ends only once the last fault's expected alert is in the store: a store outage
pages while the store is away, and its incident is written only once the store answers again,
so a run that ended at the relay's return would judge the outage as never alerted."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp
import pytest
import sqlalchemy as sa

from rampart.store import models as m
from rampart_testkit.soak_service import finish, harness, judge, procs
from rampart_testkit.soak_service.evidence import AlertSeen, Evidence
from rampart_testkit.soak_service.faults import (
    DB_OUTAGE,
    QUIET_S,
    VENUE_WINDOW_S,
    Episode,
    FaultRunner,
)
from rampart_testkit.soak_service.run import Run, ServiceSoakConfig

T0 = 1_700_000_000_000


def _run(tmp: Path) -> Run:
    sim = procs.FrozenSimulator(tmp / "sim.log", 0, "1m", 7)
    run = Run(ServiceSoakConfig(tmp), asyncio.Event(), lambda _: None, Evidence(hours=1), sim)
    run.db = sa.create_engine(f"sqlite:///{tmp / 'service.db'}")
    m.metadata.create_all(run.db, tables=[m.incidents])
    run.faults = FaultRunner((), "http://127.0.0.1:1", tmp / "service.db", tmp / "clock")
    run.faults.active = Episode(DB_OUTAGE, 10.0, T0)  # the store's lock held, then let go
    asyncio.run(run.faults.end(aiohttp.ClientSession, 20.0))  # type: ignore[arg-type]
    return run


def _incident(run: Run, rule: str, opened_at: int, status: str) -> None:
    assert run.db is not None
    with run.db.begin() as conn:
        conn.execute(
            m.incidents.insert().values(
                key=f"{rule}:x",
                rule=rule,
                severity="P0",
                status=status,
                summary="-",
                labels={},
                opened_at=opened_at,
                notifications=0,
            )
        )


def test_the_run_waits_for_the_outage_incident_written_after_the_store_came_back(
    tmp_path: Path,
) -> None:
    run = _run(tmp_path)
    assert not harness._faults_settled(run, 21.0)  # nothing open, but DatabaseDown not yet seen
    _incident(run, "DatabaseDown", T0 - 60_000, "resolved")  # an earlier outage's, not this one's
    assert not harness._faults_settled(run, 21.0)
    _incident(run, "DatabaseDown", T0 + 60_000, "open")  # written once the store answered
    assert not harness._faults_settled(run, 21.0)  # open: it must resolve first
    assert run.db is not None
    with run.db.begin() as conn:
        conn.execute(m.incidents.update().values(status="resolved"))
    assert harness._faults_settled(run, 21.0)


def test_an_alert_never_written_ends_the_run_after_the_longest_quiet_spell(
    tmp_path: Path,
) -> None:
    run = _run(tmp_path)
    assert not harness._faults_settled(run, 20.0 + QUIET_S[1] - 0.1)
    assert harness._faults_settled(run, 20.0 + QUIET_S[1])  # judged as not alerted, not waited on


def _ended(tmp: Path, kind: str, monkeypatch: pytest.MonkeyPatch) -> Run:
    run = _run(tmp)
    assert run.faults is not None

    async def switched(*_: object) -> None:
        return None

    monkeypatch.setattr(FaultRunner, "_admin", switched)
    run.ev.faults.clear()
    run.faults.active = Episode(kind, 30.0, T0)
    run.business_ms, run.business_read_s = T0, 30.0  # ten wall seconds later it ends
    asyncio.run(finish.end_fault(run, aiohttp.ClientSession, 40.0))  # type: ignore[arg-type]
    return run


@pytest.mark.parametrize("kind", ["rate_limit", "error"])
def test_orders_held_for_the_venue_s_weight_window_after_a_rate_limit_are_its_doing(
    tmp_path: Path, kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A 429 says the window's count is at the limit: the request budget holds entries until
    the exchange's minute rolls, two business hours of a compressed day. An OrdersFailing
    opened then is the rate limit's; the same long after another fault is a critical failure."""
    run = _ended(tmp_path, kind, monkeypatch)
    [window] = run.ev.faults
    speed_ms = run.config.speed * 1000
    late = window.end_ms + int((VENUE_WINDOW_S - 5) * speed_ms)
    run.ev.alerts = [AlertSeen("OrdersFailing", "P0", late, late + 60_000, "held back")]
    assert judge.critical_failures(run.ev).passed is (kind == "rate_limit")
    soon = window.end_ms + int((QUIET_S[1] - 1) * speed_ms)
    run.ev.alerts = [AlertSeen("OrdersFailing", "P0", soon, soon + 60_000, "held back")]
    assert judge.critical_failures(run.ev).passed is True

"""DatabaseDown only on refused writes, not slowness: a healthy local SQLite store
paged DatabaseDown (P0) on a machine loaded 50-100, its readiness probe having run out of time,
and entries were halted as if the store refused writes. The health sampler of a real session
here, its database probe held past the deadline."""

from __future__ import annotations

import asyncio
from pathlib import Path

from rampart.clock import SimClock
from rampart.config import load_settings
from rampart.loops.health import HealthSampler
from rampart.observability.metrics import Metrics
from rampart.runtime.health import Check, Health
from rampart.runtime.supervisor import Supervisor
from rampart.store.service_clock import ServiceTimeRecorder
from rampart.wiring.session import TradingSession


def _up(metrics: Metrics) -> float:
    return float(metrics.registry.get_sample_value("rampart_database_up") or 0.0)


def test_a_slow_database_probe_is_not_an_outage(tmp_path: Path) -> None:
    async def go() -> tuple[float, bool, float, bool]:
        settings = load_settings()
        clock = SimClock(0)
        session = TradingSession(
            settings, clock, {}, db_url=f"sqlite:///{tmp_path / 'r.db'}",
            checkpoint_name="run", accounts=[], checkpoint_every=10_000,
        )  # fmt: skip
        await session.open()
        health, metrics = Health(timeout_s=0.01), Metrics()
        held, answered = asyncio.Event(), {"ok": True}

        async def database() -> Check:
            await held.wait()  # a loaded machine: the answer comes after the deadline
            return Check("database", True, "sqlite answers")

        async def refusing() -> Check:
            answered["ok"] = False
            return Check("database", False, "cannot query the database: disk I/O error")

        health.add("database", database)
        sampler = HealthSampler(
            session, health=health, metrics=metrics,
            supervisor=Supervisor(clock, initial_backoff_s=1, max_backoff_s=1, stale_after_s=30),
            uptime=ServiceTimeRecorder(session.db, simulated=True), ops_clock=clock,
            business=clock, every_s=5,
        )  # fmt: skip
        await sampler.sample()
        slow = (_up(metrics), session.store_down)
        held.set()
        health.add("database", refusing)
        await sampler.sample()
        down = (_up(metrics), session.store_down)
        session.close()
        return (*slow, *down)

    slow_up, slow_halted, down_up, down_halted = asyncio.run(go())
    assert slow_up == 1.0 and not slow_halted
    assert down_up == 0.0 and down_halted  # a failing query is still an outage

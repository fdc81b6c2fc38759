"""The service's database check on a real PostgreSQL behind a TCP relay: cut (new connections
refused, open ones dropped) or silenced (every connection open, nothing answered), the check
reads the database down (what DatabaseDown's gauge takes) within a bounded number of health
samples, and ok again once the relay is back. Samples are one heartbeat apart on a simulated
ops clock; the check's own deadlines are the service's."""

from __future__ import annotations

import asyncio
import io
import time
from collections.abc import Iterator
from types import SimpleNamespace

import pytest
import sqlalchemy as sa
from rich.console import Console
from sqlalchemy.engine import make_url

from rampart.clock import SimClock
from rampart.config import load_settings
from rampart.loops.health import DB_DOWN_AFTER_S, DB_PROBE_DEADLINE_S, store_probe
from rampart.runtime.health import Check, Health
from rampart.store.db import open_database
from rampart.wiring.service import Service
from tests.tcp_relay import TcpRelay

pytestmark = pytest.mark.pg

HEARTBEAT_MS = 5_000
"""The service's default heartbeat: one health sample each."""
MAX_SAMPLES = int(DB_DOWN_AFTER_S * 1000 / HEARTBEAT_MS) + 2
"""The down verdict is due once the probe has gone DB_DOWN_AFTER_S unanswered, plus a sample
for the probe's start and one to spare."""


@pytest.fixture
def relay(pg_url: str) -> Iterator[TcpRelay]:
    url = make_url(pg_url)
    hop = TcpRelay(url.host or "127.0.0.1", url.port or 5432)
    hop.url = url.set(host="127.0.0.1", port=hop.port).render_as_string(False)  # type: ignore[attr-defined]
    try:
        yield hop
    finally:
        hop.speak()
        if not hop.open:
            hop.restore()
        hop.cut()


@pytest.fixture
def relayed(relay: TcpRelay) -> Iterator[tuple[TcpRelay, sa.Engine]]:
    db = open_database(relay.url)  # type: ignore[attr-defined]
    try:
        yield relay, db
    finally:
        relay.speak()
        db.dispose()


def _down(check: Check) -> bool:
    # What the health sampler takes for the database down (not merely slow).
    return not check.ok and not check.slow


async def _samples_until(health: Health, clock: SimClock, down: bool) -> tuple[int, Check]:
    """How many samples, one heartbeat apart, until the check reads ``down`` (or ok)."""
    check = Check("database", False, "not sampled")
    for n in range(1, MAX_SAMPLES + 1):
        _, checks = await health.ready()
        check = checks[0]
        if _down(check) if down else check.ok:
            return n, check
        clock.advance(HEARTBEAT_MS)
    raise AssertionError(f"still {check} after {MAX_SAMPLES} samples")


def _health(db: sa.Engine, clock: SimClock) -> Health:
    session = SimpleNamespace(db=db, store_down=False, store_unanswered=False, writer=None)
    health = Health()  # the service's own time-out per check
    health.add("database", store_probe(session, clock))  # type: ignore[arg-type]
    return health


@pytest.mark.parametrize("outage", ["cut", "silence"])
def test_a_cut_or_silent_database_reads_down_within_bounded_samples_and_ok_after(
    relayed: tuple[TcpRelay, sa.Engine], outage: str
) -> None:
    relay, db = relayed
    clock = SimClock(1_000_000)
    health = _health(db, clock)

    async def outage_seen() -> tuple[int, Check]:
        relay.cut() if outage == "cut" else relay.silence()
        try:
            return await _samples_until(health, clock, down=True)
        finally:
            # Back before any failure is raised: a probe hung on the link ends either way.
            relay.restore() if outage == "cut" else relay.speak()

    async def run() -> None:
        assert (await _samples_until(health, clock, down=False))[0] == 1
        n, check = await outage_seen()
        if outage == "cut":
            # Refused at once: the first sample says it, in the driver's words.
            assert n == 1 and "cannot query the database" in check.detail, check
        else:
            # Nothing errs on a silent link: the probe is late, then, unanswered, down.
            assert "no answer for" in check.detail, check
        n, check = await _samples_until(health, clock, down=False)
        assert check.detail == "postgresql answers"

    asyncio.run(run())


def test_a_slow_answer_is_slow_not_down(relayed: tuple[TcpRelay, sa.Engine]) -> None:
    """A probe late by less than the down bound reads slow (DatabaseSlow's business), and its
    answer, once it comes, is taken: a loaded machine's database does not page DatabaseDown."""
    relay, db = relayed
    clock = SimClock(1_000_000)
    health = _health(db, clock)

    async def run() -> None:
        await _samples_until(health, clock, down=False)
        relay.silence()
        _, checks = await health.ready()
        assert checks[0].slow and not checks[0].ok, checks
        clock.advance(int(DB_DOWN_AFTER_S * 1000) - 1)
        _, checks = await health.ready()
        assert checks[0].slow, checks
        relay.speak()
        n, check = await _samples_until(health, clock, down=False)
        assert n == 1, check

    asyncio.run(run())


def test_the_services_health_sampler_says_a_silent_database_is_down_a_heartbeat_at_a_time(
    relay: TcpRelay,
) -> None:
    """The service's own wiring, its store silenced: every sample returns within a couple of
    probe deadlines (no write of its own hangs it), and ``rampart_database_up`` drops within the
    bounded number of heartbeats; once the relay speaks again a landed write lifts it."""
    ops = SimClock(1_700_000_000_000)
    settings = load_settings(
        store={"url": relay.url, "checkpoint_every": 3},  # type: ignore[attr-defined]
        feed={"speed": 1e9},
        api={"enabled": False},
    )
    service = Service(
        settings, Console(file=io.StringIO()), view=False, ops_clock=ops, install_signals=False
    )

    def up() -> float | None:
        return service.metrics.registry.get_sample_value("rampart_database_up")

    async def scenario() -> tuple[int, float]:
        await service.open()
        sampler = service.parts.health_loop
        await sampler.sample()
        assert up() == 1
        relay.silence()
        try:
            longest = 0.0
            for n in range(1, MAX_SAMPLES + 1):
                began = time.monotonic()
                await sampler.sample()
                longest = max(longest, time.monotonic() - began)
                if up() == 0:
                    return n, longest
                ops.advance(HEARTBEAT_MS)
            raise AssertionError(f"rampart_database_up still {up()} after {MAX_SAMPLES} samples")
        finally:
            relay.speak()

    try:
        samples, longest = asyncio.run(scenario())
    finally:
        service.close()
    assert samples <= MAX_SAMPLES
    # The probe's deadline plus the uptime beat's, with room for a loaded machine.
    assert longest < 4 * DB_PROBE_DEADLINE_S, longest

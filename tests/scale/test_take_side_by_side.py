"""Shards a worker claims together open side by side, a few at a time, each within a deadline:
a shard whose open is held up keeps none of the others from trading.

After a kill -9 under 4x CPU, the shards a worker took traded again p95 30 s after the kill:
each open queued behind the worker's other opens (up to 8.4 s) before its own reconciliation.
A real ``Worker`` against a real NATS server and PostgreSQL, each shard's open held at a gate
(:func:`tests.scale.test_take_sequence.gated_take`) so that the test says when each may finish.
Liveness runs on a SimClock; every wait is on the worker's progress condition or an event."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from structlog.testing import capture_logs

from rampart.domain.shards import shard_of
from rampart.fleet import lease_open
from rampart.fleet.lease_takes import TAKE_CONCURRENCY
from tests.scale.nats_server import NatsServer, nats_server
from tests.scale.test_take_sequence import Gates, claimed, gated_take, spin
from tests.scale.test_workers import HANG_GUARD_S, SHARDS, publish, settings_for, until


@pytest.fixture
def nats(tmp_path: Path) -> Iterator[NatsServer]:
    with nats_server(tmp_path / "nats") as server:
        yield server


def test_a_shard_trades_while_the_open_of_a_shard_claimed_before_it_is_held_up(
    nats: NatsServer, pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = settings_for(nats.url, pg_url)
    sizes = Counter(shard_of(a.id, SHARDS) for a in settings.accounts)
    order = sorted(range(SHARDS), key=lambda s: (sizes[s], s))
    gates = Gates()
    gated_take(gates, monkeypatch)

    async def scenario() -> None:
        async with claimed(settings, gates) as worker:
            first, second = order[:2]
            # Side by side, bounded: the first TAKE_CONCURRENCY opens began, the rest wait.
            assert gates.opening == order[:TAKE_CONCURRENCY]
            gates.gate(second).set()  # the first shard's open stays held (a slow exchange)
            await until(worker, lambda: second in worker.traders)
            await publish(settings, 2)
            await until(worker, lambda: second in worker.takes.resumed)
            await spin()
            assert first not in worker.traders and worker.takes.taking(first)  # still held
            gates.open_all()
            await until(worker, lambda: sorted(worker.traders) == list(range(SHARDS)))

    asyncio.run(scenario())


def test_a_take_past_its_deadline_is_given_back_and_counted_in_plain_words(
    nats: NatsServer, pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every take has a deadline (here none at all, so that the held opens are past it at
    once, with no wall-clock wait): a take that outlives it is given back, its lease released
    for another worker, and counted as a failed take, in words."""
    settings = settings_for(nats.url, pg_url)
    gates = Gates()
    gated_take(gates, monkeypatch)  # every open held: only the deadline ends them
    monkeypatch.setattr(lease_open, "TAKE_DEADLINE_S", 0.0)

    async def scenario() -> None:
        with capture_logs() as logs:
            async with claimed(settings, gates) as worker:
                await asyncio.wait_for(worker.takes.settle(), HANG_GUARD_S)
                assert worker.traders == {}
                leases: Any = worker.leases
                assert leases.leases == {}  # released: any worker may take them now
                assert len(worker.takes.failed_ms) == SHARDS
        failures = [e for e in logs if e["event"] == "shard_take_failed"]
        assert len(failures) == SHARDS
        assert all(e["error"].endswith("did not open within 0 s.") for e in failures)

    asyncio.run(scenario())

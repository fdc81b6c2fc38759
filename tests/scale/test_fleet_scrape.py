"""Every alert rule over the fleet's metrics: the server holding the ops lease
scrapes each worker's ``/metrics`` (real HTTP servers of prometheus-client, each serving a
worker's registry at the address its heartbeat row names) and evaluates the rules on the
merged snapshot, on the injected clock.

- counters are summed over the workers; a worker's restart (its counters back at zero) is a
  reset, not a fall; what a worker counted before the server's first scrape is the baseline
  (a lease taken by a server that just started must not page for a worker's whole past);
- a worker that neither answers nor beats in the store is ``WorkerDown`` until it answers or
  leaves; one that only does not answer (slow) is not;
- memory growth is judged per process, the incident naming the worker;
- the ops lease moving to another server carries the open incident on: no twin, no second
  notice, one resolve, and the first server taking the lease back sends nothing again;
- the fleet's uptime (every shard held by a live worker) is ``UptimeLow``'s reading."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from prometheus_client import start_http_server

from rampart.clock import SimClock
from rampart.config import Settings, load_settings
from rampart.fleet.alerts import FleetAlertEngine, fleet_alerting
from rampart.fleet.uptime import FleetUptime
from rampart.observability.incidents import active_incidents, list_incidents
from rampart.observability.metrics import Metrics
from rampart.observability.notify import FIRING, RESOLVED, CallbackNotifier, Notice
from rampart.store.db import open_database
from rampart.store.leases import ShardLeases

START_MS = 1_700_000_000_000


class Served:
    """A worker's registry served over HTTP as ``rampart worker`` serves it."""

    def __init__(self) -> None:
        self.metrics = Metrics(venue="paper")
        self.server, _thread = start_http_server(0, "127.0.0.1", registry=self.metrics.registry)
        self.url = f"http://127.0.0.1:{self.server.server_port}/metrics"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def served() -> Iterator[list[Served]]:
    made: list[Served] = []
    yield made
    for one in made:
        one.close()


def serve(made: list[Served]) -> Served:
    one = Served()
    made.append(one)
    return one


def settings_at(url: str) -> Settings:
    return load_settings(store={"url": url}, scale={"shards": 1}, api={"enabled": False})


class Fleet:
    """The store, the workers' heartbeat rows, and a server's fleet alert engine."""

    def __init__(self, tmp_path: Path) -> None:
        self.url = f"sqlite:///{tmp_path / 'rampart.db'}"
        self.settings = settings_at(self.url)
        self.db: sa.Engine = open_database(self.url)
        self.clock = SimClock(START_MS)
        self.notices: list[Notice] = []
        self.rows: dict[str, ShardLeases] = {}
        """The workers alive in the store: each beats before every evaluation."""

    def register(self, name: str, url: str) -> None:
        row = self.rows[name] = ShardLeases(self.db, name, self.clock, 6_000, metrics_url=url)
        row.beat()

    def leave(self, name: str) -> None:
        self.rows.pop(name).leave()

    def server(self, name: str) -> FleetAlertEngine:
        async def record(notice: Notice) -> None:
            self.notices.append(notice)

        return fleet_alerting(
            self.settings,
            self.db,
            Metrics(venue="serve"),
            self.clock,
            name=name,
            notifiers=[CallbackNotifier(record)],
        )

    def step(self, engine: FleetAlertEngine, ms: int) -> None:
        self.clock.advance(ms)
        for row in self.rows.values():
            row.beat()
        asyncio.run(engine.evaluate(self.clock.now_ms()))

    def open(self, rule: str) -> list[Any]:
        return [i for i in active_incidents(self.db) if i.rule == rule]

    def told(self, rule: str) -> list[str]:
        return [n.kind for n in self.notices if n.rule == rule]


def errors(served: Served, count: int) -> None:
    for _ in range(count):
        served.metrics.exchange_error("paper", "timeout")


def test_counters_are_summed_over_workers_from_the_first_scrape_across_a_restart(
    tmp_path: Path, served: list[Served]
) -> None:
    fleet = Fleet(tmp_path)
    a, b = serve(served), serve(served)
    errors(a, 40)  # before the server watched: the baseline, not 40 errors in 5 minutes
    fleet.register("w-a", a.url)
    fleet.register("w-b", b.url)
    engine = fleet.server("serve-1")
    fleet.step(engine, 0)
    fleet.step(engine, 120_000)
    assert "ExchangeApiErrors" not in engine.pending
    assert fleet.open("ExchangeApiErrors") == []
    errors(a, 3)
    errors(b, 1)
    fleet.step(engine, 30_000)
    assert "ExchangeApiErrors" not in engine.pending  # 4 of the 5 it takes

    # Worker a restarts under its name (a new process, a new port): its counter is back at
    # zero and counts one error. 43 → 1 is a reset: 3 + 1 + 1 = 5 in the window.
    restarted = serve(served)
    errors(restarted, 1)
    fleet.register("w-a", restarted.url)
    fleet.step(engine, 30_000)
    assert "ExchangeApiErrors" in engine.pending
    fleet.step(engine, 61_000)
    [incident] = fleet.open("ExchangeApiErrors")
    assert incident.value == 5
    assert fleet.told("ExchangeApiErrors") == [FIRING]

    # The errors leave the 5-minute window: resolved, once.
    fleet.step(engine, 300_000)
    assert fleet.open("ExchangeApiErrors") == []
    assert fleet.told("ExchangeApiErrors") == [FIRING, RESOLVED]


def test_a_worker_that_does_not_answer_is_down_until_it_leaves(
    tmp_path: Path, served: list[Served]
) -> None:
    fleet = Fleet(tmp_path)
    up = serve(served)
    fleet.register("w-up", up.url)
    with socket.socket() as s:  # a port nothing listens on: the worker is gone
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}/metrics"
    fleet.register("w-gone", dead)
    engine = fleet.server("serve-1")
    # Not answering while its keeper still beats in the store: slow, not down.
    for _ in range(3):
        fleet.step(engine, 0 if engine.evaluations == 0 else 31_000)
    assert fleet.open("WorkerDown") == []
    gone = fleet.rows.pop("w-gone")  # it beats no more either (a crash): down
    for _ in range(2):
        fleet.step(engine, 31_000)
    [down] = fleet.open("WorkerDown")
    assert down.severity == "P1"
    assert down.labels == {"component": "w-gone"}
    assert "Worker w-gone has neither answered on its metrics address" in down.summary
    assert fleet.open("AllWorkersDown") == []  # w-up answers

    # It stops on purpose (as a worker does on SIGTERM): no longer watched, resolved.
    fleet.rows["w-gone"] = gone
    fleet.leave("w-gone")
    fleet.step(engine, 5_000)
    assert fleet.open("WorkerDown") == []
    assert fleet.told("WorkerDown") == [FIRING, RESOLVED]


def test_memory_growth_is_judged_per_process(tmp_path: Path, served: list[Served]) -> None:
    fleet = Fleet(tmp_path)
    small, large = serve(served), serve(served)
    small.metrics.launch.memory_bytes.set(100_000_000)
    large.metrics.launch.memory_bytes.set(400_000_000)
    fleet.register("w-small", small.url)
    fleet.register("w-large", large.url)
    engine = fleet.server("serve-1")
    fleet.step(engine, 0)
    # The small worker grows by 20 % in the hour; the largest process stays where it was.
    small.metrics.launch.memory_bytes.set(120_000_000)
    fleet.step(engine, 3_600_000)
    fleet.step(engine, 901_000)
    [grown] = fleet.open("MemoryGrowth")
    assert grown.labels == {"process": "w-small"}
    assert grown.value == pytest.approx(0.2)
    assert "The resident memory of w-small grew" in grown.summary


def test_the_ops_lease_moving_carries_the_incident_on(tmp_path: Path, served: list[Served]) -> None:
    fleet = Fleet(tmp_path)
    worker = serve(served)
    fleet.register("w1", worker.url)
    worker.metrics.scale.consumer_lag.labels(stream="market").set(1_500)
    first = fleet.server("serve-a")
    fleet.step(first, 0)
    fleet.step(first, 61_000)
    [lagging] = fleet.open("ConsumerLagHigh")
    assert (lagging.severity, lagging.value) == ("P1", 1_500)
    assert fleet.told("ConsumerLagHigh") == [FIRING]
    # One scrape missed (the worker busy, the network): its last answer stands in.
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        fleet.register("w1", f"http://127.0.0.1:{s.getsockname()[1]}/metrics")
    fleet.step(first, 5_000)
    fleet.register("w1", worker.url)
    assert [i.id for i in fleet.open("ConsumerLagHigh")] == [lagging.id]

    # serve-a dies; serve-b takes the ops lease and runs the rules: the same incident, no
    # second notice while it holds (the repeat is 15 minutes after serve-a's).
    second = fleet.server("serve-b")
    for _ in range(3):
        fleet.step(second, 10_000)
    assert [i.id for i in fleet.open("ConsumerLagHigh")] == [lagging.id]
    assert fleet.told("ConsumerLagHigh") == [FIRING]

    # The worker catches up: serve-b resolves it, once.
    worker.metrics.scale.consumer_lag.labels(stream="market").set(0)
    fleet.step(second, 10_000)
    assert fleet.open("ConsumerLagHigh") == []
    assert fleet.told("ConsumerLagHigh") == [FIRING, RESOLVED]

    # serve-a is back and takes the lease again: it starts from the store, not from what it
    # held before, so it neither resolves again nor opens anything.
    async def lease_back() -> None:
        stop = asyncio.Event()
        before = first.evaluations
        running = asyncio.create_task(first.run(stop, lambda: None))
        while first.evaluations < before + 2:
            await asyncio.sleep(0)
        stop.set()
        await running

    asyncio.run(lease_back())
    assert fleet.told("ConsumerLagHigh") == [FIRING, RESOLVED]
    assert [i.rule for i in list_incidents(fleet.db, "resolved")] == ["ConsumerLagHigh"]


def test_the_fleets_uptime_is_watched(tmp_path: Path) -> None:
    """UptimeLow reads the fleet's uptime spans: every shard held by a live worker is up."""
    fleet = Fleet(tmp_path)
    holder = ShardLeases(fleet.db, "w1", fleet.clock, 6_000)
    holder.ensure(1)
    assert holder.acquire(0) is not None
    uptime = FleetUptime(fleet.db, fleet.clock, 1, 1.0)
    engine = fleet.server("serve-1")
    for _ in range(30):  # ten minutes up, renewing (the uptime rounds well inside the grace)
        assert holder.keep() == []
        assert uptime.round()
        fleet.step(engine, 20_000)
    assert fleet.open("UptimeLow") == []
    # The worker stops renewing: from its lease's end the fleet is down.
    for _ in range(4):
        fleet.clock.advance(20_000)
        assert not uptime.round()
        fleet.step(engine, 1_000)
    [low] = fleet.open("UptimeLow")
    assert low.severity == "P1"
    assert low.value < 0.999


def test_the_feed_is_disconnected_only_when_no_worker_receives_it(
    tmp_path: Path, served: list[Served]
) -> None:
    """One worker's candles stale (stuck, behind, frozen) while another's arrive: the feed
    publishes, no FeedDisconnected; every worker's stale: it fires."""
    fleet = Fleet(tmp_path)
    stuck, fresh = serve(served), serve(served)
    fleet.register("w-stuck", stuck.url)
    fleet.register("w-fresh", fresh.url)
    stuck.metrics.feed_staleness("BTC/USDT", 300.0)
    fresh.metrics.feed_staleness("BTC/USDT", 1.0)
    engine = fleet.server("serve-1")
    for _ in range(3):
        fleet.step(engine, 5_000)
    assert fleet.open("FeedDisconnected") == []
    fresh.metrics.feed_staleness("BTC/USDT", 300.0)
    for _ in range(2):
        fleet.step(engine, 5_000)
    [down] = fleet.open("FeedDisconnected")
    assert down.labels == {"symbol": "BTC/USDT"}

"""``WorkerDown`` within 15 s of a worker's death past one machine: the server holding
the ops lease scrapes each worker once per evaluation (``alerts.evaluate_every_s``, 5 s) and
calls a worker down at the second scrape in a row it does not answer; one missed scrape (a
worker busy past the scrape's timeout) is not a page. Real HTTP servers of prometheus-client
as the workers, the store on SQLite, the ops clock simulated (each step is one evaluation)."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

from prometheus_client import start_http_server

from rampart.clock import SimClock
from rampart.config import load_settings
from rampart.fleet.alerts import fleet_alerting, fleet_rule_set, worker_down_after_s
from rampart.observability.incidents import active_incidents
from rampart.observability.metrics import Metrics
from rampart.store.db import open_database
from rampart.store.leases import ShardLeases

START_MS = 1_700_000_000_000
EVERY_MS = 5_000
"""alerts.evaluate_every_s's default: one scrape and one evaluation per step."""


def _dead_url() -> str:
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}/metrics"


def test_worker_down_fires_within_15_s_of_a_death_and_not_on_one_missed_scrape(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'rampart.db'}"
    settings = load_settings(store={"url": url}, scale={"shards": 1}, api={"enabled": False})
    assert settings.alerts.evaluate_every_s * 1000 == EVERY_MS
    db = open_database(url)
    clock = SimClock(START_MS)
    metrics = Metrics(venue="paper")
    server, _thread = start_http_server(0, "127.0.0.1", registry=metrics.registry)
    live = f"http://127.0.0.1:{server.server_port}/metrics"
    worker = ShardLeases(db, "w1", clock, 6_000, metrics_url=live)
    engine = fleet_alerting(settings, db, Metrics(venue="serve"), clock, name="serve-1")

    def down() -> bool:
        return any(i.rule == "WorkerDown" for i in active_incidents(db))

    def step(metrics_url: str, beats: bool = True) -> bool:
        clock.advance(EVERY_MS)
        worker.metrics_url = metrics_url
        if beats:  # a dead worker's keeper beats no more (a live one's, slow or not, does)
            worker.beat()
        asyncio.run(engine.evaluate(clock.now_ms()))
        return down()

    try:
        for _ in range(3):
            assert not step(live)
        # One scrape missed (the worker too busy to answer in time), then answered: no page.
        assert not step(_dead_url())
        assert not step(live)
        assert not step(live)
        # Killed right after a scrape it answered: the worst case. Down two evaluations later.
        died = clock.now_ms()
        server.shutdown()
        server.server_close()
        while not step(live, beats=False):
            assert clock.now_ms() - died <= 15_000, "WorkerDown has not fired 15 s after"
        assert clock.now_ms() - died <= 15_000
        [incident] = [i for i in active_incidents(db) if i.rule == "WorkerDown"]
        assert incident.labels == {"component": "w1"}
    finally:
        db.dispose()


def test_the_fleet_worker_down_rule_reads_the_evaluation_interval_and_the_rules_file(
    tmp_path: Path,
) -> None:
    settings = load_settings(api={"enabled": False})
    [rule] = [r for r in fleet_rule_set(settings) if r.name == "WorkerDown"]
    assert rule.threshold == worker_down_after_s(5.0) == 7.5 and rule.for_s == 0
    rules_file = tmp_path / "rules.yaml"
    rules_file.write_text("WorkerDown: {threshold: 20, for: 10s}\n")
    tuned = load_settings(api={"enabled": False}, alerts={"rules_file": str(rules_file)})
    [rule] = [r for r in fleet_rule_set(tuned) if r.name == "WorkerDown"]
    assert (rule.threshold, rule.for_s) == (20, 10)  # the operator's, not the fleet's default

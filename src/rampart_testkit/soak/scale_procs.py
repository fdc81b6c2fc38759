"""The worker processes of the scale soak's ``--worker-processes`` mode: each a real
``rampart worker`` started from a settings file of its own, killed with SIGKILL, frozen with
SIGSTOP and thawed with SIGCONT, stopped with SIGTERM; and what the harness reads from each of
them over its Prometheus endpoint (order latency, fenced refusals, shards lost)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

import psutil
import yaml
from prometheus_client.parser import text_string_to_metric_families

from rampart_testkit.nats import free_port
from rampart_testkit.soak.stats import Latency, resident_mb

STOP_WITHIN_S = 60.0
"""Only so that a broken run fails instead of hanging: a worker's way out on SIGTERM."""


class WorkerProcess:
    def __init__(self, name: str, data: dict[str, Any], out_dir: Path) -> None:
        self.name = name
        self.port = free_port()
        settings = {**data, "scale": {**data["scale"], "metrics_port": self.port}}
        self.config = out_dir / f"worker-{name}.yaml"
        self.config.write_text(yaml.safe_dump(settings), encoding="utf-8")
        self.output = (out_dir / f"worker-{name}.out").open("w", encoding="utf-8")
        command = ["worker", "--config", str(self.config), "--name", name]
        self.proc = subprocess.Popen(  # noqa: S603 - this Python, fixed arguments, no shell
            [sys.executable, "-m", "rampart.cli.main", *command],
            cwd=out_dir,
            stdout=self.output,
            stderr=subprocess.STDOUT,
            env={**os.environ, "COLUMNS": "200"},
        )
        self.paused = False
        self.metrics: dict[str, Any] = {}
        """The last scrape of its metrics (kept after it is killed)."""
        self.rss_baseline_mb = 0.0
        self.lost_before = 0.0
        """Its shards lost (``rampart_shards_lost_total``) when it was frozen."""

    @property
    def running(self) -> bool:
        return self.proc.poll() is None

    def scrape(self) -> bool:
        """Read its metrics; False when it does not answer (starting, frozen, gone)."""
        if self.paused or not self.running:
            return False
        try:
            url = f"http://127.0.0.1:{self.port}/metrics"
            with urllib.request.urlopen(url, timeout=2) as answer:
                text = answer.read().decode()
        except OSError:
            return False
        self.metrics = {f.name: f for f in text_string_to_metric_families(text)}
        return True

    def value(self, family: str, **labels: str) -> float:
        found = self.metrics.get(family)
        if found is None:
            return 0.0
        return sum(
            s.value
            for s in found.samples
            if s.name.endswith("_total") or s.name == family
            if all(s.labels.get(k) == v for k, v in labels.items())
        )

    def rss_mb(self) -> float:
        with contextlib.suppress(psutil.Error):
            return resident_mb(self.proc.pid)
        return 0.0

    def kill(self) -> None:
        """SIGKILL: nothing handed back, nothing saved."""
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(STOP_WITHIN_S)

    def freeze(self) -> None:
        self.proc.send_signal(signal.SIGSTOP)
        self.paused = True

    def thaw(self) -> None:
        self.proc.send_signal(signal.SIGCONT)
        self.paused = False

    def terminate(self) -> None:
        """SIGTERM: every shard checkpointed and handed back on the way out."""
        if self.paused:
            self.thaw()
        if self.running:
            self.proc.send_signal(signal.SIGTERM)

    def wait(self) -> int | None:
        try:
            return self.proc.wait(STOP_WITHIN_S)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(STOP_WITHIN_S)
            return None
        finally:
            self.output.close()


def add_order_latency(latency: Latency, worker: WorkerProcess) -> None:
    """The worker's ``rampart_order_latency_seconds`` histogram added to ``latency``: each
    order at its bucket's upper edge (so the percentiles are the buckets'), the mean exact
    (from the histogram's sum)."""
    family = worker.metrics.get("rampart_order_latency_seconds")
    if family is None:
        return
    buckets = sorted(
        ((float(s.labels["le"]), s.value) for s in family.samples if s.name.endswith("_bucket")),
    )
    finite = [edge for edge, _n in buckets if edge != float("inf")]
    below, added = 0.0, 0.0
    for edge, cumulative in buckets:
        at = edge if edge != float("inf") else max(finite, default=0.0)
        for _ in range(int(cumulative - below)):
            latency.add(at)
            added += at
        below = cumulative
    exact = sum(s.value for s in family.samples if s.name.endswith("_sum"))
    latency.total += exact - added


__all__ = ["STOP_WITHIN_S", "WorkerProcess", "add_order_latency"]

"""The fleet's metrics as one snapshot for the alert engine, past one machine.

The ``rampart serve`` holding the ops lease scrapes every worker's ``/metrics`` (the address
each writes in its heartbeat row), reads the text with prometheus-client's own parser, and
merges it with its own registry. Every series gets a ``process`` label naming where it came
from, so the engine's history sees each process's counters apart: a worker's restart is a drop
in its own series, read as a reset as Prometheus's ``increase()`` reads it, and the rules sum
the increases over the processes. Gauges stay one series per process, and each rule's
aggregation says what it means over them (``max`` of the consumer lags, ``min`` of the
database probes, memory growth per process).

A worker that cannot be scraped is not an error here but a reading: each target's liveness is
the time it last answered (or, never having answered, since it was first tried), given to the
rules as the heartbeat of component ``<worker name>``, unless its heartbeat row in the store is
later (a worker slow to answer, its keeper still beating, is not down) (``WorkerDown`` at the
second scrape in a row it missed and no beat since,
:func:`~rampart.fleet.alerts.worker_down_after_s`; ``AllWorkersDown`` when none is fresh).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

import httpx
import structlog
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

from rampart.clock import Clock
from rampart.observability.alerts.history import Samples
from rampart.observability.alerts.rules import HEARTBEAT
from rampart.observability.alerts.signals import take_snapshot

log = structlog.get_logger("rampart.alerts.fleet")

PROCESS = "process"
"""The label naming the process a series was scraped from (a worker's name, or a server's)."""
SCRAPE_TIMEOUT_S = 2.0
"""Per scrape: a worker that takes longer is read as not answering this round."""
KEEP_S = 30.0
"""A worker's last answer stands in for this long after it stops answering: a missed scrape is
not its series gone (an open incident on them would resolve, and open again). Past it they
are gone, and ``WorkerDown`` says why."""


def parse(text: str) -> Samples:
    """Prometheus's text format as samples, ``_created`` timestamps left out (as
    :func:`~rampart.observability.alerts.signals.take_snapshot` leaves them out)."""
    found: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name.endswith("_created"):
                continue
            found.setdefault(sample.name, []).append((dict(sample.labels), float(sample.value)))
    return found


def labelled(samples: Samples, process: str) -> Samples:
    return {
        name: [({**labels, PROCESS: process}, value) for labels, value in series]
        for name, series in samples.items()
    }


class FleetMetrics:
    """What the workers' metrics said at the last :meth:`scrape`, merged on demand with this
    process's own registry (:meth:`snapshot`)."""

    def __init__(
        self,
        own: str,
        registry: CollectorRegistry,
        clock: Clock,
        *,
        timeout_s: float = SCRAPE_TIMEOUT_S,
        keep_s: float = KEEP_S,
    ) -> None:
        self.own = own
        """This process's name, the ``process`` label of its own series."""
        self.registry = registry
        self.clock = clock
        self.timeout_s = timeout_s
        self.keep_ms = int(keep_s * 1000)
        self.scraped: dict[str, Samples] = {}
        """Each target's samples: this round's answer, or its last within ``keep_s``."""
        self.answered_ms: dict[str, int] = {}
        """Each target's last answer (ops clock)."""
        self.tried_ms: dict[str, int] = {}
        """When each target was first tried, for one that never answered."""
        self.failing: set[str] = set()
        self.seen_ms: dict[str, int] = {}
        """Each worker's last heartbeat in the store (its lease keeper's, ops clock)."""

    async def scrape(self, targets: Mapping[str, str]) -> None:
        """Read every target's ``/metrics`` (name → URL) side by side; forget the others."""
        for gone in set(self.tried_ms) - set(targets):
            self.tried_ms.pop(gone, None)
            self.answered_ms.pop(gone, None)
            self.failing.discard(gone)
        now = self.clock.now_ms()
        for name in targets:
            self.tried_ms.setdefault(name, now)
        names = list(targets)
        found: list[Samples | None] = []
        if names:
            # The workers are on the operator's network: no proxy from the environment.
            async with httpx.AsyncClient(timeout=self.timeout_s, trust_env=False) as client:
                found = await asyncio.gather(
                    *(self._one(client, name, targets[name]) for name in names)
                )
        kept: dict[str, Samples] = {}
        for name, samples in zip(names, found, strict=True):
            if samples:
                kept[name] = samples
                self.answered_ms[name] = now
            elif name in self.scraped and now - self.answered_ms.get(name, now) < self.keep_ms:
                kept[name] = self.scraped[name]
        self.scraped = kept

    async def _one(self, client: httpx.AsyncClient, name: str, url: str) -> Samples | None:
        try:
            answer = await client.get(url)
            answer.raise_for_status()
            samples = parse(answer.text)
        except Exception as exc:  # not answering is a reading (WorkerDown), never a crash
            if name not in self.failing:
                log.warning("worker_metrics_unreachable", worker=name, url=url, error=str(exc))
            self.failing.add(name)
            return None
        if name in self.failing:
            log.info("worker_metrics_reachable", worker=name, url=url)
            self.failing.discard(name)
        return samples

    def heartbeats(self) -> dict[str, float]:
        """Each target's liveness in Unix seconds: its last answer (or when first tried), or its
        last heartbeat in the store if later. A worker slow to answer a scrape on a loaded
        machine (2 s) while its keeper still beats is not down (else ``WorkerDown`` names
        workers that are only slow); a crashed or wedged one does neither."""
        return {
            name: max(self.answered_ms.get(name, tried), self.seen_ms.get(name, 0)) / 1000
            for name, tried in self.tried_ms.items()
        }

    def snapshot(self) -> Samples:
        """This process's registry and every worker's last answer, each series labelled with
        its process; the workers' liveness as heartbeats."""
        merged = labelled(take_snapshot(self.registry), self.own)
        for name, samples in self.scraped.items():
            for metric, series in labelled(samples, name).items():
                merged.setdefault(metric, []).extend(series)
        beats = merged.setdefault(HEARTBEAT, [])
        for name, seconds in self.heartbeats().items():
            beats.append(({"component": name, PROCESS: self.own}, seconds))
        return merged


__all__ = ["PROCESS", "FleetMetrics", "labelled", "parse"]

"""A blue-green deploy its gates rolled back: ``rampart_deploy_rolled_back`` is 1,
labelled with the versions and the gates that failed, while the stored deploy is one the
server holding the ops lease rolled back automatically (:mod:`rampart.rollout.deploy_watch`
sets it at each check); 0 (no series) once a new deploy starts. DeployRolledBack (P1) reads it.

Registered on first use in a registry rather than in :class:`~.metrics.Metrics`: only the
server that watches a deploy has it, and a process that never does exports no series.
"""

from __future__ import annotations

import threading
from weakref import WeakKeyDictionary

from prometheus_client import CollectorRegistry, Gauge

ROLLED_BACK = "rampart_deploy_rolled_back"
LABELS = ("old", "new", "gate")

_gauges: WeakKeyDictionary[CollectorRegistry, Gauge] = WeakKeyDictionary()
_guard = threading.Lock()


def rolled_back_gauge(registry: CollectorRegistry) -> Gauge:
    """The registry's gauge, created the first time (a registry refuses a second one)."""
    with _guard:
        gauge = _gauges.get(registry)
        if gauge is None:
            gauge = Gauge(
                ROLLED_BACK,
                "1 while the last blue-green deploy is one its gates rolled back (every shard "
                "and the API traffic went back to the old version).",
                list(LABELS),
                registry=registry,
            )
            _gauges[registry] = gauge
        return gauge


__all__ = ["LABELS", "ROLLED_BACK", "rolled_back_gauge"]

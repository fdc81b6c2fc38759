"""A worker stops speaking for the accounts of a shard it no longer holds:
their BooksDifferUnrepaired count goes from its registry at the next sample, so the P0 the
fleet's alerts read from it resolves once the books match under the next holder.

Found in a fleet run: six BooksDifferUnrepaired P0 incidents stayed open for 50 minutes across
four holders: each old holder kept serving its last count of the accounts it had handed on."""

from __future__ import annotations

import asyncio

from rampart.clock import SimClock
from rampart.domain.events import BooksDiffer
from rampart.fleet.worker_metrics import WorkerMetrics
from rampart.messaging.settings import ScaleConfig
from rampart.observability.metrics import Metrics
from rampart.wiring.quarantine import watch_guard

GAUGE = "rampart_reconciliation_unrepaired_passes"


def test_a_shard_handed_on_takes_its_unrepaired_count_with_it() -> None:
    metrics = Metrics(venue="binance")
    watch = WorkerMetrics(metrics, ScaleConfig(), SimClock(0), watch_guard)
    held: list[object] = []
    watch.bind(lambda: held, [], {})  # type: ignore[arg-type,return-value]
    metrics.on_event(BooksDiffer(0, "a1", 4, "position differs"))
    assert metrics.registry.get_sample_value(GAUGE, {"account": "a1"}) == 4
    asyncio.run(watch.sample())  # the shard of a1 is no longer held here
    assert metrics.registry.get_sample_value(GAUGE, {"account": "a1"}) is None

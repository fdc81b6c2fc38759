"""A worker's messaging metrics: its link to NATS, and how overdue its next candle
is (:mod:`rampart.observability.messaging_metrics`), wired in one call from ``Worker.open``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rampart.domain.candles import timeframe_ms
from rampart.market.settings import FeedConfig
from rampart.observability.messaging_metrics import CandleArrivals, watch_arrivals, watch_link

if TYPE_CHECKING:
    from rampart.fleet.worker_state import WorkerState


def candle_interval_s(feed: FeedConfig, live: bool) -> float:
    """How often a candle step reaches a worker: the timeframe, or the timeframe over
    ``feed.speed`` for a simulated feed (paced by ``rampart feed``; ``live``: a venue's own)."""
    step = timeframe_ms(feed.timeframe) / 1000
    return step if live else step / feed.speed


def watch_messaging(worker: WorkerState) -> CandleArrivals:
    """Register the gauges on the worker's registry and time each candle that reaches it."""
    registry = worker.metrics.registry
    watch_link(registry, "worker", lambda: worker.nc)
    arrivals = CandleArrivals(
        worker.ops_clock, candle_interval_s(worker.settings.feed, worker.parts.live_feed)
    )
    watch_arrivals(registry, arrivals)
    if worker.subscription is not None:
        worker.subscription.arrived = arrivals.arrived
    return arrivals


__all__ = ["candle_interval_s", "watch_messaging"]

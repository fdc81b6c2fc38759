"""Whether candles and commands can flow: each process's link to NATS, and how
overdue a worker's next candle is.

``rampart_nats_connected{link}`` is read from the NATS client at each scrape (1 connected, 0
reconnecting or closed) in every process that talks to NATS: a worker, ``rampart serve`` and
``rampart feed`` (when it serves metrics). ``MessagingDown`` (P0) reads it.

``rampart_candles_overdue_seconds`` is how much later than expected a worker's newest candle
is: seconds since the last candle reached it, less one candle's interval (the timeframe, or
the timeframe over ``feed.speed`` for a paced simulated feed). 0 while candles arrive on time;
it grows when the feed is down, has no standby, or cannot reach NATS. ``CandlesStopped`` (P1)
reads it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from prometheus_client import CollectorRegistry, Gauge

from rampart.clock import Clock

NATS_CONNECTED = "rampart_nats_connected"
CANDLES_OVERDUE = "rampart_candles_overdue_seconds"
FEED_LEADER = "rampart_feed_leader"
FEED_PUBLISHED = "rampart_feed_candles_published_total"


def connected(nc: Any) -> float:
    """1 when ``nc`` (a nats-py client, or None before it exists) is connected, else 0."""
    return 1.0 if nc is not None and bool(getattr(nc, "is_connected", False)) else 0.0


def watch_link(registry: CollectorRegistry, link: str, nc: Callable[[], Any]) -> Gauge:
    """``rampart_nats_connected{link=…}`` read from ``nc()`` at each scrape."""
    gauge = Gauge(
        NATS_CONNECTED,
        "1 while this process is connected to NATS (market data and commands flow), 0 while "
        "it is reconnecting.",
        ["link"],
        registry=registry,
    )
    gauge.labels(link=link).set_function(lambda: connected(nc()))
    return gauge


class CandleArrivals:
    """When a worker's last candle arrived, on ``clock`` (the wall: liveness), and how overdue
    the next one is."""

    def __init__(self, clock: Clock, interval_s: float) -> None:
        self.clock = clock
        self.interval_s = interval_s
        self.last_ms = clock.now_ms()
        """Counted from the start: a worker that never receives a candle is overdue too."""

    def arrived(self) -> None:
        self.last_ms = self.clock.now_ms()

    def overdue_s(self) -> float:
        waited = (self.clock.now_ms() - self.last_ms) / 1000
        return max(0.0, waited - self.interval_s)


def watch_arrivals(registry: CollectorRegistry, arrivals: CandleArrivals) -> Gauge:
    gauge = Gauge(
        CANDLES_OVERDUE,
        "Seconds the next candle is later than one candle's interval after the last one "
        "reached this worker (0 while candles arrive on time).",
        registry=registry,
    )
    gauge.set_function(arrivals.overdue_s)
    return gauge


__all__ = [
    "CANDLES_OVERDUE",
    "FEED_LEADER",
    "FEED_PUBLISHED",
    "NATS_CONNECTED",
    "CandleArrivals",
    "connected",
    "watch_arrivals",
    "watch_link",
]

"""The exchange's rate-limit headroom as its headers state it (``rampart_exchange_rate_limit_*``),
set after every answered ccxt call, read by :mod:`rampart.venues.rate_limits` (the reader the
request budget counts with). A used-weight header takes its limit from what the exchange
published, as the venue's request budget learned it. ``rampart_exchange_rate_limit_known`` is 0
while neither has said (the headroom is unknown, never guessed)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from prometheus_client import CollectorRegistry, Gauge

from rampart.venues.rate_limits import PublishedLimit, RateLimit, rate_limit


class RateLimitMetrics:
    def __init__(self, r: CollectorRegistry) -> None:
        self.headroom = Gauge(
            "rampart_exchange_rate_limit_headroom_ratio",
            "Share of the exchange's rate limit still available, as its headers last said.",
            ["venue"],
            registry=r,
        )
        self.used = Gauge(
            "rampart_exchange_rate_limit_used",
            "Request weight the exchange's headers say was used in its current window.",
            ["venue"],
            registry=r,
        )
        self.known = Gauge(
            "rampart_exchange_rate_limit_known",
            "1 when the exchange's headers state the headroom, 0 while it is unknown.",
            ["venue"],
            registry=r,
        )
        self.last: dict[str, RateLimit] = {}

    def observe(
        self, venue: str, headers: Mapping[str, Any], published: PublishedLimit | None = None
    ) -> None:
        found = rate_limit(headers, published)
        if found is None:
            self.known.labels(venue=venue).set(0)
            return
        self.last[venue] = found
        if found.used is not None:
            self.used.labels(venue=venue).set(found.used)
        if found.headroom is None:
            self.known.labels(venue=venue).set(0)
            return
        self.known.labels(venue=venue).set(1)
        self.headroom.labels(venue=venue).set(found.headroom)

    def describe(self, venue: str) -> str:
        found = self.last.get(venue)
        return found.describe() if found is not None else "unknown"


def watch_rate_limits(venue: Any, metrics: RateLimitMetrics) -> bool:
    """Hook the headers of a ccxt venue's calls (through a metrics wrapper); False for a venue
    that has no exchange headers (paper, simulated)."""
    inner = getattr(venue, "wrapped", venue)
    caller = getattr(inner, "caller", None)
    if caller is None or not hasattr(caller, "on_headers"):
        return False
    name = str(getattr(inner, "name", "exchange"))
    budget = getattr(caller, "budget", None)
    published = getattr(budget, "published_limit", None)
    caller.on_headers = lambda headers: metrics.observe(name, headers, published)
    return True


__all__ = ["RateLimitMetrics", "watch_rate_limits"]

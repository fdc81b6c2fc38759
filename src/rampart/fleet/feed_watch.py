"""``rampart feed``'s own metrics, served on ``scale.feed_metrics_port`` when it is
set: its link to NATS (``MessagingDown`` reads it, as it reads the workers' and the servers'),
whether it leads, and the candles it published. A feed touches no database, so no server
scrapes it for the in-service alerts: a Prometheus does, and the workers' own
``rampart_candles_overdue_seconds`` says in-service when candles stop arriving."""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any, Protocol

from prometheus_client import CollectorRegistry, Counter, Gauge, start_http_server

from rampart.messaging.settings import ScaleConfig
from rampart.observability.messaging_metrics import FEED_LEADER, FEED_PUBLISHED, watch_link

if TYPE_CHECKING:
    from rampart.messaging.feed_lease import FeedLease


class WatchedFeed(Protocol):
    """What the metrics read off the feed (its ``FeedPublisher``): the NATS link and the lease."""

    @property
    def nc(self) -> Any: ...

    @property
    def lease(self) -> FeedLease | None: ...


class FeedWatch:
    def __init__(self, feed: WatchedFeed) -> None:
        self.registry = CollectorRegistry()
        watch_link(self.registry, "feed", lambda: feed.nc)
        leader = Gauge(
            FEED_LEADER,
            "1 while this feed holds the leader lease and publishes, 0 while it stands by.",
            registry=self.registry,
        )
        leader.set_function(lambda: 1.0 if feed.lease is not None and feed.lease.valid() else 0.0)
        self.published = Counter(
            FEED_PUBLISHED.removesuffix("_total"),
            "Candles this feed published (a re-send the stream dropped is not counted).",
            registry=self.registry,
        )
        self._server: Any = None

    def open(self, scale: ScaleConfig) -> None:
        if scale.feed_metrics_port:
            self._server, _thread = start_http_server(
                scale.feed_metrics_port, scale.metrics_host, registry=self.registry
            )

    def close(self) -> None:
        if self._server is not None:
            with contextlib.suppress(Exception):
                self._server.shutdown()
                self._server.server_close()
            self._server = None


__all__ = ["FeedWatch", "WatchedFeed"]

"""Request count and latency of Rampart's own HTTP API, per route template.

The label is the route's template (``/api/v1/admin/incidents/{incident_id}/ack``), never the
path a client sent: ids stay out of the labels, and a path that matches no route is counted
as ``unmatched`` (a scanner cannot grow the series). Pure ASGI, so streaming answers are
timed to their last byte and nothing is buffered.
"""

from __future__ import annotations

import time
from typing import Any, TypeVar

from prometheus_client import CollectorRegistry, Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from rampart.observability.metrics import LATENCY_BUCKETS

UNMATCHED = "unmatched"
T = TypeVar("T")


class ApiMetrics:
    def __init__(self, r: CollectorRegistry) -> None:
        self.requests = Counter(
            "rampart_api_requests_total",
            "HTTP requests to Rampart's API by method, route template and status code.",
            ["method", "route", "status"],
            registry=r,
        )
        self.latency = Histogram(
            "rampart_api_request_seconds",
            "Time to answer an HTTP request to Rampart's API, by method and route template.",
            ["method", "route"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        # Its own counter, as the alert signals match labels exactly: ApiSuccessLow divides it
        # by the requests (plan 003's API success > 99.5 %).
        self.server_errors = Counter(
            "rampart_api_server_errors_total",
            "HTTP requests to Rampart's API answered with a server error (5xx).",
            registry=r,
        )

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        self.requests.labels(method=method, route=route, status=str(status)).inc()
        self.latency.labels(method=method, route=route).observe(seconds)
        if status >= 500:
            self.server_errors.inc()


def route_template(scope: Scope) -> str:
    """The matched route's template (set on the scope by the router), else ``unmatched``."""
    route: Any = scope.get("route")
    path = getattr(route, "path", None)
    # A mount (the panel's static files) reports its prefix: the files under it share one.
    return path if isinstance(path, str) and path else UNMATCHED


class RequestMetrics:
    """ASGI middleware counting and timing every HTTP request."""

    def __init__(self, app: ASGIApp, metrics: ApiMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # an exception before the response started is a server error

        async def watch(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, watch)
        finally:
            self.metrics.observe(
                str(scope.get("method", "")),
                route_template(scope),
                status,
                time.perf_counter() - started,
            )


def api_totals(registry: CollectorRegistry) -> dict[str, Any]:
    """Requests, server errors (5xx) and the latency histogram's cumulative bucket counts
    (seconds bound -> count), summed over methods and routes: what ``rampart serve`` keeps in
    the store for a deploy step's gates on the API servers."""
    requests = errors = 0.0
    buckets: dict[str, float] = {}
    for family in registry.collect():
        for sample in family.samples:
            if sample.name == "rampart_api_requests_total":
                requests += sample.value
                if sample.labels.get("status", "").startswith("5"):
                    errors += sample.value
            elif sample.name == "rampart_api_request_seconds_bucket":
                bound = sample.labels["le"]
                buckets[bound] = buckets.get(bound, 0.0) + sample.value
    return {
        "requests": int(requests),
        "errors": int(errors),
        "buckets": {k: int(v) for k, v in buckets.items()},
    }


def install_request_metrics(app: T, registry: CollectorRegistry) -> T:
    """Count and time ``app``'s requests on ``registry`` (once per registry); returns ``app``."""
    app.add_middleware(RequestMetrics, metrics=ApiMetrics(registry))  # type: ignore[attr-defined]
    return app


__all__ = [
    "UNMATCHED",
    "ApiMetrics",
    "RequestMetrics",
    "api_totals",
    "install_request_metrics",
    "route_template",
]

"""Solana venue metrics: a group of their own on the service's registry, created by
:class:`rampart.observability.metrics.Metrics` as ``metrics.solana``. The group is the venue's
:class:`rampart.venues.solana.observe.SwapObserver`: hand ``metrics.solana`` to the venue and
its RPC pool.

- ``rampart_solana_quote_latency_seconds{route}`` and ``rampart_solana_quotes_total{route,
  outcome}`` (``ok``/``error``): quote requests to bags.fm and Jupiter;
- ``rampart_solana_swaps_total{route, outcome}``: swap attempts by how they ended;
- ``rampart_solana_confirmation_seconds{route}``: sendTransaction → confirmed, for attempts
  that landed (``filled``, or ``slippage``: landed with an error); the others ended by a
  timeout, whose length says nothing about the chain;
- ``rampart_solana_slippage_bps{route, kind}``: per fill, the slippage the quote allowed
  (``kind="quoted"``) and the one realised against the quote (``kind="realised"``, positive =
  worse than quoted); its buckets go below zero, so (as OpenMetrics says) it has no ``_sum``:
  read it by quantiles and bucket shares;
- ``rampart_solana_routes_taken_total{route, best}``: filled swaps by the route taken and the
  one with the best price; ``rampart_solana_route_preference_cost_total{route, quote}``: the
  quote tokens an operator's preference (``solana.route.prefer``) gave up against the best;
- ``rampart_solana_rpc_requests_total{endpoint}``, ``rampart_solana_rpc_latency_seconds
  {endpoint}``, ``rampart_solana_rpc_errors_total{endpoint, kind}`` (kind: timeout, http_429,
  http_5xx, rpc_error, down);
- ``rampart_solana_rpc_failovers_total``: the pool moved to another node (or back to the
  primary); no labels, so the series exists at zero from the start and Prometheus's
  ``increase()`` counts the very first failover (which nodes is in the ``rpc_failover`` log);
- ``rampart_solana_rpc_up{endpoint}`` (1 up, 0 down or lagging) and
  ``rampart_solana_rpc_lag_slots{endpoint}`` (slots behind the best node), from the probes.

Endpoints are named by host only (a loopback node by host and path), never with a query or
a path that may hold a provider token (``rampart.venues.solana.rpc.endpoint_name``).
"""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

QUOTE_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 2.0, 5.0, 10.0)
CONFIRM_BUCKETS = (
    0.05,
    0.1,
    0.2,
    0.3,
    0.4,
    0.5,
    0.6,
    0.8,
    1.0,
    1.25,
    1.5,
    2.0,
    2.5,
    3.0,
    4.0,
    5.0,
    7.5,
    10.0,
    20.0,
    30.0,
)
"""Seconds, dense from 50 ms to 5 s (a confirmed commitment takes about 0.4–2 s on mainnet), so
p50, p95 and p99 read to within a bucket of a few hundred ms at most."""
SLIPPAGE_BUCKETS = (-100, -50, -20, -10, -5, -2, 0, 2, 5, 10, 20, 30, 50, 75, 100, 200, 500, 1000)
"""Basis points; negative = better than quoted."""
RPC_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
SWAP_OUTCOMES = ("filled", "slippage", "expired", "dropped", "refused", "unknown")
LANDED = frozenset({"filled", "slippage"})
OK = "ok"


class SolanaMetrics:
    """Quotes, swaps, slippage and the RPC pool's health; implements ``SwapObserver``."""

    def __init__(self, r: CollectorRegistry) -> None:
        self.quote_latency_s = Histogram(
            "rampart_solana_quote_latency_seconds",
            "Quote request latency, by route.",
            ["route"],
            buckets=QUOTE_BUCKETS,
            registry=r,
        )
        self.quotes = Counter(
            "rampart_solana_quotes_total",
            "Quote requests, by route and outcome (ok, error).",
            ["route", "outcome"],
            registry=r,
        )
        self.swaps = Counter(
            "rampart_solana_swaps_total",
            "Swap attempts, by route and outcome "
            "(filled, slippage, expired, dropped, refused, unknown).",
            ["route", "outcome"],
            registry=r,
        )
        self.confirmation_s = Histogram(
            "rampart_solana_confirmation_seconds",
            "Time from sendTransaction to confirmation of the swaps that landed, by route.",
            ["route"],
            buckets=CONFIRM_BUCKETS,
            registry=r,
        )
        self.slippage_bps = Histogram(
            "rampart_solana_slippage_bps",
            "Slippage per fill in basis points: allowed by the quote (kind=quoted) and realised "
            "against it (kind=realised, positive = worse).",
            ["route", "kind"],
            buckets=SLIPPAGE_BUCKETS,
            registry=r,
        )
        self.rpc_requests = Counter(
            "rampart_solana_rpc_requests_total",
            "JSON-RPC calls to Solana nodes, by endpoint.",
            ["endpoint"],
            registry=r,
        )
        self.rpc_latency_s = Histogram(
            "rampart_solana_rpc_latency_seconds",
            "JSON-RPC call latency, by endpoint.",
            ["endpoint"],
            buckets=RPC_BUCKETS,
            registry=r,
        )
        self.rpc_errors = Counter(
            "rampart_solana_rpc_errors_total",
            "Failed JSON-RPC calls, by endpoint and kind "
            "(timeout, http_429, http_5xx, rpc_error, down).",
            ["endpoint", "kind"],
            registry=r,
        )
        self.failovers = Counter(
            "rampart_solana_rpc_failovers_total",
            "Times the RPC pool moved to another node (fail-over or fail-back).",
            registry=r,
        )
        self.rpc_up = Gauge(
            "rampart_solana_rpc_up",
            "1 while a Solana RPC node is up and in step, 0 while it is down or lagging.",
            ["endpoint"],
            registry=r,
        )
        self.rpc_lag_slots = Gauge(
            "rampart_solana_rpc_lag_slots",
            "Slots a Solana RPC node is behind the best node seen.",
            ["endpoint"],
            registry=r,
        )
        self.routes_taken = Counter(
            "rampart_solana_routes_taken_total",
            "Filled swaps by the route taken and the route that had the best price.",
            ["route", "best"],
            registry=r,
        )
        self.route_cost = Counter(
            "rampart_solana_route_preference_cost_total",
            "Quote tokens the operator's route preference gave up against the best route.",
            ["route", "quote"],
            registry=r,
        )

    def prepare_routes(self, routes: Iterable[str]) -> None:
        """Start the series of the routes the venue takes at zero, so increase() in
        Prometheus counts their first event (the venue names them: see
        ``rampart.wiring.solana.observe``)."""
        for route in routes:
            for outcome in SWAP_OUTCOMES:
                self.swaps.labels(route=route, outcome=outcome)
            for outcome in (OK, "error"):
                self.quotes.labels(route=route, outcome=outcome)

    # -- SwapObserver ----------------------------------------------------------------------

    def quote(self, route: str, seconds: float, ok: bool) -> None:
        self.quote_latency_s.labels(route=route).observe(seconds)
        self.quotes.labels(route=route, outcome=OK if ok else "error").inc()

    def swap(self, route: str, outcome: str, seconds: float) -> None:
        self.swaps.labels(route=route, outcome=outcome).inc()
        if outcome in LANDED:
            self.confirmation_s.labels(route=route).observe(seconds)

    def slippage(self, route: str, quoted_bps: float, realised_bps: float) -> None:
        self.slippage_bps.labels(route=route, kind="quoted").observe(quoted_bps)
        self.slippage_bps.labels(route=route, kind="realised").observe(realised_bps)

    def route_taken(self, route: str, best: str, cost: float, quote: str) -> None:
        self.routes_taken.labels(route=route, best=best).inc()
        if cost > 0:
            self.route_cost.labels(route=route, quote=quote).inc(cost)

    def rpc_call(self, endpoint: str, method: str, outcome: str, seconds: float) -> None:
        # The method stays out of the labels: endpoints × methods × kinds would multiply the
        # series for little gain.
        del method
        self.rpc_requests.labels(endpoint=endpoint).inc()
        self.rpc_latency_s.labels(endpoint=endpoint).observe(seconds)
        if outcome != OK:
            self.rpc_errors.labels(endpoint=endpoint, kind=outcome).inc()

    def failover(self, from_endpoint: str, to_endpoint: str, reason: str) -> None:
        del from_endpoint, to_endpoint, reason
        self.failovers.inc()

    def endpoint_health(self, endpoint: str, up: bool, lag_slots: int) -> None:
        self.rpc_up.labels(endpoint=endpoint).set(1 if up else 0)
        self.rpc_lag_slots.labels(endpoint=endpoint).set(max(0, lag_slots))

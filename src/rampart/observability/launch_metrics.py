"""What the launch plans ask an operator to watch that the core metrics did not carry: resident
memory (MemoryGrowth), failed database statements (DatabaseErrors), the service's uptime over
the last day (UptimeLow), the database connection pool, and how often take-profits and
stop-losses close trades. Sampled by the alert engine's refreshers (:mod:`.launch_sampler`),
the database listeners (:mod:`.db_metrics`) and the bus; no per-investor label.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge

from rampart.observability.agent_metrics import AgentMetrics
from rampart.observability.market_data_metrics import MarketDataMetrics
from rampart.observability.rate_limit_metrics import RateLimitMetrics

MEMORY = "rampart_memory_resident_bytes"
DB_ERRORS = "rampart_db_errors_total"
UPTIME = "rampart_uptime_ratio"
DB_FAILURES = "rampart_database_failures_total"
CLOCK_JUMPS = "rampart_clock_jumps_total"
BRACKET_LEGS = ("take_profit", "stop_loss")
WEBSOCKET_STATES = ("connected", "connecting", "polling", "off", "not_used")


class LaunchMetrics:
    def __init__(self, r: CollectorRegistry) -> None:
        self.memory_bytes = Gauge(
            MEMORY,
            "Resident memory of the service process in bytes (sampled before each alert "
            "evaluation; MemoryGrowth compares it with an hour earlier).",
            registry=r,
        )
        self.db_errors = Counter(
            DB_ERRORS,
            "Database statements that failed (rampart_db_query_seconds_count counts them all).",
            registry=r,
        )
        self.db_errors.inc(0)  # at zero from the start, so increases count from it
        self.db_failures = Counter(
            DB_FAILURES,
            "Writes the store refused and database probes that failed (DatabaseDown counts "
            "them: a store failing on and off never keeps rampart_database_up at 0).",
            registry=r,
        )
        self.db_failures.inc(0)
        self.clock_jumps = Counter(
            CLOCK_JUMPS,
            "Steps of the host's wall clock past the tolerance, back or forward (ClockJump); "
            "Rampart's own clock runs on monotonically through them.",
            ["direction"],
            registry=r,
        )
        for direction in ("back", "forward"):
            self.clock_jumps.labels(direction=direction)
        # Labelled so no series exists before the first sample: an unlabelled gauge reads 0,
        # which UptimeLow would take for a service that was never up.
        self._uptime = Gauge(
            UPTIME,
            "Share of the window the service was up (its heartbeat spans, as GO/NO-GO counts "
            "them).",
            ["window"],
            registry=r,
        )

        self.bracket_exits = Counter(
            "rampart_bracket_exits_total",
            "Trades closed by their take-profit or stop-loss (the TP/SL trigger rate: its rate "
            "against rampart_trades_total).",
            ["leg"],
            registry=r,
        )
        for leg in BRACKET_LEGS:
            self.bracket_exits.labels(leg=leg)
        self.rate_limits = RateLimitMetrics(r)
        self.market_data = MarketDataMetrics(r)
        self.agents = AgentMetrics(r)
        self.websocket = Gauge(
            "rampart_feed_websocket_state",
            "1 for the exchange feed's current websocket state: connected, connecting (asked "
            "for, not yet connected), polling (failed or not offered), off (not asked for) or "
            "not_used (no exchange feed: paper, replay).",
            ["state"],
            registry=r,
        )
        self.websocket_state("not_used")  # present from the start, in a paper run too
        self.pool = Gauge(
            "rampart_db_pool_connections",
            "Database connections of the pool by state: checked_out (in use), idle (checked "
            "in), overflow (opened past the pool's size), size (the pool's size).",
            ["state"],
            registry=r,
        )

    def websocket_state(self, state: str) -> None:
        self.websocket_now = state  # read by readiness
        for known in WEBSOCKET_STATES:
            self.websocket.labels(state=known).set(1 if known == state else 0)

    def trade_closed(self, exit_reason: str) -> None:
        if exit_reason in BRACKET_LEGS:
            self.bracket_exits.labels(leg=exit_reason).inc()

    def pool_state(self, checked_out: int, idle: int, overflow: int, size: int) -> None:
        for state, value in (
            ("checked_out", checked_out),
            ("idle", idle),
            ("overflow", overflow),
            ("size", size),
        ):
            self.pool.labels(state=state).set(value)

    def uptime(self, share: float, window: str = "24h") -> None:
        self._uptime.labels(window=window).set(share)

    def db_error(self) -> None:
        self.db_errors.inc()

    def db_failure(self) -> None:
        self.db_failures.inc()

    def clock_jump(self, step_ms: int) -> None:
        self.clock_jumps.labels(direction="back" if step_ms < 0 else "forward").inc()


__all__ = ["CLOCK_JUMPS", "DB_ERRORS", "DB_FAILURES", "MEMORY", "UPTIME", "LaunchMetrics"]

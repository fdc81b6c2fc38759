"""What the launch plans ask an operator to watch that the core metrics did not carry: resident
memory (MemoryGrowth), failed database statements (DatabaseErrors), the service's uptime over
the last day (UptimeLow). Sampled by the alert engine's refreshers (:mod:`.launch_sampler`) and the
database listeners (:mod:`.db_metrics`); no per-investor label.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge

MEMORY = "rampart_memory_resident_bytes"
DB_ERRORS = "rampart_db_errors_total"
UPTIME = "rampart_uptime_ratio"


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
        # Labelled so no series exists before the first sample: an unlabelled gauge reads 0,
        # which UptimeLow would take for a service that was never up.
        self._uptime = Gauge(
            UPTIME,
            "Share of the window the service was up (its heartbeat spans, as GO/NO-GO counts "
            "them).",
            ["window"],
            registry=r,
        )

    def uptime(self, share: float, window: str = "24h") -> None:
        self._uptime.labels(window=window).set(share)

    def db_error(self) -> None:
        self.db_errors.inc()


__all__ = ["DB_ERRORS", "MEMORY", "UPTIME", "LaunchMetrics"]

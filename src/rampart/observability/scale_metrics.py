"""Running past one machine: what a worker holds, how fast shards move, how far
behind the market stream it is, and what its fences refused. No per-account label: a shard is
a number, a worker a name an operator gave it."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

CONSUMER_LAG = "rampart_jetstream_consumer_lag"
SHARDS_HELD = "rampart_worker_shards"
FENCED = "rampart_fenced_refused_total"
SHARDS_UNHELD = "rampart_fleet_shards_unheld"
WORKERS_LIVE = "rampart_fleet_workers_live"
CANDLE_TRADED = "rampart_candle_traded_timestamp_seconds"

FAN_OUT_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0)
HANDOVER_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
RESUME_BUCKETS = (0.25, 0.5, 1.0, 2.0, 5.0, 8.0, 10.0, 15.0, 30.0, 60.0, 120.0)
"""Around the 10 s a failover must resume trading within."""


class ScaleMetrics:
    def __init__(self, r: CollectorRegistry) -> None:
        self.shards = Gauge(SHARDS_HELD, "Shards this worker holds a lease on.", registry=r)
        # Labelled so no series exists before the first candle traded: an unlabelled gauge
        # reads 0, which TradingStopped would take for a fleet that stopped in 1970.
        self._candle_traded = Gauge(
            CANDLE_TRADED,
            "When (Unix seconds, the worker's ops clock) one of this worker's shards last "
            "traded a new candle (TradingStopped: none in the fleet for two candle periods).",
            ["stream"],
            registry=r,
        )
        self.lease_age = Gauge(
            "rampart_worker_lease_age_seconds",
            "Seconds since this worker last renewed its leases (past scale.lease_s it has lost "
            "them).",
            registry=r,
        )
        self.failovers = Counter(
            "rampart_shard_takeovers_total",
            "Shards this worker took: released by another, never held, or taken over once the "
            "holder's lease ran out.",
            registry=r,
        )
        self.lost = Counter(
            "rampart_shards_lost_total",
            "Shards another worker took from this one while it believed it held them.",
            registry=r,
        )
        self.handover = Histogram(
            "rampart_shard_handover_seconds",
            "How long taking a shard over took: checkpoint loaded, accounts restored, books "
            "reconciled, ready to trade.",
            buckets=HANDOVER_BUCKETS,
            registry=r,
        )
        self.resume = Histogram(
            "rampart_shard_resume_seconds",
            "From claiming a shard to its first decision: the first candle its engine traded "
            "(the time a failover's accounts wait, past the unheld time).",
            buckets=RESUME_BUCKETS,
            registry=r,
        )
        self.unheld = Histogram(
            "rampart_shard_unheld_seconds",
            "How long each shard this worker took had been without a holder (its lease run "
            "out or released that long before the claim).",
            buckets=RESUME_BUCKETS,
            registry=r,
        )
        self.fenced = Counter(
            FENCED,
            "Writes and orders refused because this worker's lease had run out or been taken "
            "(what: write, order).",
            ["what"],
            registry=r,
        )
        for what in ("write", "order"):
            self.fenced.labels(what=what).inc(0)
        self.consumer_lag = Gauge(
            CONSUMER_LAG,
            "Messages on the JetStream market stream not yet handed to this worker's engines "
            "(P1 past 1,000, as the launch plans ask).",
            ["stream"],
            registry=r,
        )
        self.fan_out = Histogram(
            "rampart_command_fan_out_seconds",
            "From sending a command to the last owning worker's acknowledgement.",
            ["kind"],
            buckets=FAN_OUT_BUCKETS,
            registry=r,
        )
        # The fleet as the store has it, set by the server holding the ops lease
        # (rampart serve): no worker's own metrics can say a shard has no worker at all. Labelled
        # by where they were read, so a process that never reads them (rampart run) has no
        # series: no value, rather than a 0 that would read as "no worker".
        self.shards_unheld = Gauge(
            SHARDS_UNHELD,
            "Shards no live worker holds a lease on: their accounts are not traded.",
            ["source"],
            registry=r,
        )
        self.workers_live = Gauge(
            WORKERS_LIVE, "Workers seen within a lease's length.", ["source"], registry=r
        )
        self.commands_stale = Gauge(
            "rampart_worker_commands_stale",
            "1 while this worker has heard no heartbeat of the command stream for "
            "scale.command_stale_s (it opens no position).",
            registry=r,
        )

    def candle_traded(self, now_ms: int) -> None:
        """A shard of this worker traded a new candle at ``now_ms`` (ops clock)."""
        self._candle_traded.labels(stream="market").set(now_ms / 1000)


__all__ = [
    "CANDLE_TRADED",
    "CONSUMER_LAG",
    "FENCED",
    "SHARDS_HELD",
    "SHARDS_UNHELD",
    "WORKERS_LIVE",
    "ScaleMetrics",
]

"""The scale soak's timings: how long a stopped worker's shards took to trade again,
how long a command took to reach every worker, and what the workers' memory did.

**Failover** is timed on the harness's liveness clock, the one the leases are written on: for
each crash, pause or clean handover, each of the worker's shards has the moment its lease ran
out (none for a handover: the lease is released), the moment another worker held it, and the
first candle that worker traded on it after taking it. The launch goal is from the moment a
worker stops renewing to its shards trading again elsewhere. In the in-process soak the
harness's clock stands still while a worker takes a shard (the take's reconciliation costs wall
time, not liveness time), so the figure is the protocol's (lease, round, next candle); with
``--worker-processes`` the liveness clock is the wall clock and the figure includes the take.

**Fan-out** is a command every owner must answer (``models``: each refreshes its model
registry, a no-op without one), sent in quiet spells; timed on the wall clock from the send to
the last answer, as ``rampart serve`` times it (``rampart_command_fan_out_seconds``)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from rampart.domain.shards import Holder
from rampart_testkit.soak.stats import Latency

FAILOVER_GOAL_S = 10.0
"""The failover goal: a worker that stops renewing loses its shards to the others, trading
again, within this (p99)."""
FAN_OUT_PROBE = "models"


@dataclass
class ShardMove:
    expires_ms: int | None
    """When the stopped worker's lease ran out (None: released by a clean handover)."""
    taken_ms: int | None = None
    trading_ms: int | None = None
    seen_ts: int = 0
    """The newest candle the new owner's engine had when it took the shard."""


@dataclass
class Episode:
    label: str
    kind: str
    victim: str
    fault_ms: int
    renewed_ms: int
    """The stopped worker's last renewal (the latest of its shards' lease ends, less a lease)."""
    shards: dict[int, ShardMove]

    @property
    def done(self) -> bool:
        return all(m.trading_ms is not None for m in self.shards.values())

    def to_dict(self) -> dict[str, Any]:
        def worst(start: Mapping[int, int | None], end: str) -> float | None:
            spans = [
                (getattr(m, end) - start[s]) / 1000
                for s, m in self.shards.items()
                if getattr(m, end) is not None and start[s] is not None
            ]
            return round(max(spans), 3) if spans and len(spans) == len(self.shards) else None

        expiry = {s: m.expires_ms for s, m in self.shards.items()}
        renewal = {s: self.renewed_ms for s in self.shards}
        fault = {s: self.fault_ms for s in self.shards}
        return {
            "fault": self.label,
            "shards": len(self.shards),
            "renewal_to_trading_s": worst(renewal, "trading_ms"),
            "fault_to_trading_s": worst(fault, "trading_ms"),
            "lease_expiry_to_held_s": worst(expiry, "taken_ms"),
            "lease_expiry_to_trading_s": worst(expiry, "trading_ms"),
        }


@dataclass
class ScaleTimings:
    episodes: list[Episode] = field(default_factory=list)
    fan_out: Latency = field(default_factory=Latency)
    fan_out_incomplete: list[str] = field(default_factory=list)
    """Probes some owner did not answer within ``scale.ack_timeout_s`` (the sentence)."""
    ack_timeout_s: float = 0.0
    """The workers' ``scale.ack_timeout_s``: what a fan-out must stay under."""
    memory_alert_per_h_pct: float = 0.0
    """The workers' ``alerts.levels.memory_growth_per_h`` in %: the ``MemoryGrowth`` alert's
    threshold, which the growth per hour must stay under."""
    worker_rss: dict[str, tuple[float, float]] = field(default_factory=dict)
    """Worker processes alive from the baseline to the end: RSS (MB) at both."""
    rss_mb: list[float] = field(default_factory=list)
    """This process's resident memory every few candles (the in-process soak): the trend."""

    # -- failover -----------------------------------------------------------------------------

    def begin(
        self,
        label: str,
        victim: str,
        shards: Iterable[int],
        table: Mapping[int, Holder],
        now_ms: int,
        lease_ms: int,
        released: bool = False,
    ) -> None:
        moves = {
            s: ShardMove(None if released else table[s].expires_ms)
            for s in shards
            if s in table and table[s].owner == victim
        }
        if not moves:
            return
        ends = [table[s].expires_ms for s in moves]
        renewed = now_ms if released else max(ends) - lease_ms
        kind = label.rsplit("-", 1)[0]
        self.episodes.append(Episode(label, kind, victim, now_ms, renewed, moves))

    def watch(
        self, table: Mapping[int, Holder], now_ms: int, newest: Mapping[tuple[str, int], int]
    ) -> None:
        """One look: ``newest`` has, for each running worker and shard it trades, the newest
        candle close handed round the shard (a resumed worker may still have a shard it lost:
        only the lease holder's counts)."""
        for episode in self.episodes:
            for shard, move in episode.shards.items():
                if move.trading_ms is not None:
                    continue
                held = table.get(shard)
                if held is None or not held.live(now_ms) or held.owner == episode.victim:
                    continue
                seen = newest.get((held.owner, shard))
                if seen is None:
                    continue
                if move.taken_ms is None:
                    move.taken_ms, move.seen_ts = now_ms, seen
                elif seen > move.seen_ts:
                    move.trading_ms = now_ms

    def watch_ready(
        self, table: Mapping[int, Holder], now_ms: int, ready: set[tuple[str, int]]
    ) -> None:
        """One look at worker processes: ``ready`` has each running worker's shards once it
        has finished taking every shard it holds (its ``rampart_worker_shards`` counts them:
        loaded, reconciled, protected); it trades the next candle."""
        for episode in self.episodes:
            for shard, move in episode.shards.items():
                held = table.get(shard)
                if move.trading_ms is not None or held is None or not held.live(now_ms):
                    continue
                if held.owner == episode.victim:
                    continue
                if move.taken_ms is None:
                    move.taken_ms = now_ms
                if (held.owner, shard) in ready:
                    move.trading_ms = now_ms

    @property
    def open(self) -> list[Episode]:
        return [e for e in self.episodes if not e.done]

    def failover_s(self, kinds: tuple[str, ...] = ("crash", "pause")) -> list[float]:
        """Each lost worker's time from its last renewal to every shard trading again."""
        out = []
        for episode in self.episodes:
            figure = episode.to_dict()["renewal_to_trading_s"]
            if episode.kind in kinds and figure is not None:
                out.append(figure)
        return out

    def to_dict(self) -> dict[str, Any]:
        failovers = self.failover_s()
        return {
            "failover_goal_s": FAILOVER_GOAL_S,
            "failover_max_s": max(failovers, default=None),
            "episodes": [e.to_dict() for e in self.episodes],
            "fan_out": self.fan_out.summary_ms(),
            "fan_out_incomplete": self.fan_out_incomplete[:10],
            "ack_timeout_s": self.ack_timeout_s,
            "memory_alert_per_h_pct": self.memory_alert_per_h_pct,
            "worker_rss_mb": {k: list(v) for k, v in self.worker_rss.items()},
            "rss_samples_mb": self.rss_mb,
        }


__all__ = ["FAILOVER_GOAL_S", "FAN_OUT_PROBE", "Episode", "ScaleTimings", "ShardMove"]

"""The wall-clock run's faults: which kinds, how they are scheduled on wall seconds, and how
the plan's switches reach a simulator in another process.

The plan is the soak's own (:class:`~rampart_testkit.soak.chaos.FaultPlan`: one episode at a
time, each kind drawn from a shuffled bag before any repeats, quiet spells between), ticked
once a wall second instead of once a simulated candle, with episodes and quiet spells long
enough for a network client's timeouts and backoffs to play out. Its switches are queued
(:class:`PendingFaults`) and sent to the simulator's admin API by the run; the harness's own
kinds (a restart, a database outage or flapping store, a clock step, websockets dropped) are
the run's to make.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from rampart_testkit.simulator.faults import KLINES
from rampart_testkit.simulator.streams import STREAM_PATH
from rampart_testkit.soak.chaos import (
    BAD_CANDLES,
    CLOCK_STEP,
    DB_FLAP,
    DB_OUTAGE,
    DIRTY_KINDS,
    FLAP,
    RESTART,
    FaultPlan,
    parse_faults,
)

WS_DROP = "ws_drop"
"""Every websocket the simulator holds (candles and the accounts' orders) closed at once, and
again every few seconds through the episode: the clients reconnect, or poll meanwhile."""
SIMULATOR_KINDS = (
    "latency",
    "drop",
    "error",
    "rate_limit",
    "lost_response",
    "malformed",
    "truncated",
    "skew",
    FLAP,
    BAD_CANDLES,
)
"""Switched on in the simulator through its admin API."""
WALL_KINDS = (*SIMULATOR_KINDS, WS_DROP, RESTART, DB_OUTAGE, DB_FLAP, CLOCK_STEP)
"""``all`` for the wall run: every fault the accelerated soak injects that needs no window into
the exchange's internals (the reconcile race and the hand close act inside the in-process
simulator), the dirty ones among them, and dropped websockets."""


def parse_wall_faults(text: str) -> tuple[str, ...]:
    """``all`` (every kind above), ``none``, ``dirty`` or a comma list."""
    return parse_faults(text, WALL_KINDS, "wall run", DIRTY_KINDS)


class PendingFaults:
    """Stands in for the simulator's fault set in the plan: what the plan switches on or off is
    queued here and sent by the run (the simulator is another process)."""

    def __init__(self) -> None:
        self.ops: list[tuple[str, dict[str, Any]]] = []

    def add(self, kind: str, **params: Any) -> None:
        self.ops.append((kind, params))

    def clear(self) -> None:
        self.ops.append(("", {}))

    def take(self) -> list[tuple[str, dict[str, Any]]]:
        ops, self.ops = self.ops, []
        return ops


@dataclass
class WallPlan(FaultPlan):
    """The fault plan in wall seconds: quiet for 20-60 s, an episode for 10-30 s (a database
    outage 15-40 s), so that a timed-out order, a backoff and a reconnect all happen inside
    one and the books settle before the next."""

    gap: tuple[int, int] = (20, 60)
    length: tuple[int, int] = (10, 30)
    outage: tuple[int, int] = (15, 40)
    flap_every: tuple[int, int] = (2, 5)
    drop_every: tuple[int, int] = (3, 8)
    """Seconds between websocket drops in a ``ws_drop`` episode."""

    def _params(self, kind: str) -> dict[str, Any]:
        if kind == WS_DROP:
            return {"every": self.rng.randint(*self.drop_every)}
        params = super()._params(kind)
        if kind == BAD_CANDLES:
            # The klines answers and the closed candles the market stream sends.
            params["paths"] = [*KLINES, STREAM_PATH]
        return params

    def drop_due(self, step: int) -> bool:
        """Whether the websockets are to be dropped at this second."""
        episode = self.active
        if episode is None or episode.kind != WS_DROP:
            return False
        return (step - episode.start) % episode.params["every"] == 0


@dataclass
class WallCounts:
    """What the wall run's own faults did."""

    ws_drops: int = 0
    """Websockets the simulator closed when told to."""
    feed_ws: Counter[str] = field(default_factory=Counter)
    """The candle feed's changes of state: ``connected`` (by websocket) and ``polling``."""
    order_streams: Counter[str] = field(default_factory=Counter)
    """The accounts' order streams' changes of state: ``streaming`` and ``polling``."""
    admin_errors: list[str] = field(default_factory=list)
    """Calls to the simulator's admin API that failed (the harness's, not Rampart's)."""
    protection_reads_failed: int = 0
    sim_rss_start_mb: float = 0.0
    sim_rss_end_mb: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "websockets_dropped": self.ws_drops,
            "feed_websocket_states": dict(self.feed_ws),
            "order_stream_states": dict(self.order_streams),
            "admin_errors": self.admin_errors[:10],
            "protection_reads_failed": self.protection_reads_failed,
            "simulator_rss_start_mb": round(self.sim_rss_start_mb, 1),
            "simulator_rss_end_mb": round(self.sim_rss_end_mb, 1),
        }


__all__ = [
    "SIMULATOR_KINDS",
    "WALL_KINDS",
    "WS_DROP",
    "PendingFaults",
    "WallCounts",
    "WallPlan",
    "parse_wall_faults",
]

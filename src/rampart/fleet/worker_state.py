"""What a :class:`~rampart.fleet.worker.Worker` holds from construction on: its settings and
clocks, the shards it trades and their locks, its links (set when it opens), its metrics and
the candles it remembers. The worker's helpers (candles, commands, follow and reconcile passes,
taking a shard, the risk's kill relay, the stage) read this, the module below them and the
worker both, so the worker's files form no circle."""

from __future__ import annotations

import asyncio
import os
import re
import socket
from collections import deque
from collections.abc import Iterator
from typing import Any

from rich.console import Console

from rampart.clock import Clock, SimClock, WallClock
from rampart.domain.candles import Candle
from rampart.domain.errors import ConfigError
from rampart.domain.instruments import Instrument
from rampart.fleet.lease_catchup import CatchUp
from rampart.fleet.lease_keeper import LeaseKeeper
from rampart.fleet.lease_takes import Rebalance, Takeovers
from rampart.fleet.parts import WorkerParts
from rampart.fleet.settings import FleetSettings
from rampart.fleet.shard import ShardTrader
from rampart.fleet.shard_locks import ShardLocks
from rampart.fleet.worker_metrics import WorkerMetrics
from rampart.messaging.commands import CommandReceiver
from rampart.messaging.market import CandleSubscription
from rampart.notices.outbox_writer import OutboxWriter
from rampart.observability.metrics import Metrics
from rampart.store.leases import ShardLeases

NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")
"""A worker's name: it names its durable consumer on the command stream too."""


def default_name() -> str:
    host = "".join(c if c.isalnum() or c in "-_" else "-" for c in socket.gethostname())
    return f"{host[:40]}-{os.getpid()}"


class WorkerState:
    """The worker's state (see :mod:`rampart.fleet.worker` for what it does with it)."""

    def __init__(
        self,
        settings: FleetSettings,
        console: Console,
        parts: WorkerParts,
        *,
        name: str | None = None,
        version: str = "",
        role: str = "active",
        ops_clock: Clock | None = None,
        install_signals: bool = True,
    ) -> None:
        self.settings = settings
        self.parts = parts
        """What the root built for the configured venue kind (a shard's trader, instruments)."""
        self.scale = settings.scale
        self.console = console
        self.name = name or settings.scale.worker_name or default_name()
        if not NAME.fullmatch(self.name):
            raise ConfigError(
                f"A worker's name is 1 to 64 letters, digits, '-' or '_'; got {self.name!r}."
            )
        self.version = version
        self.role = role
        self.ops_clock: Clock = ops_clock or WallClock()
        self.install_signals = install_signals
        self.clock = SimClock(0)
        """The engines' clock: set to each traded candle's close."""
        self.locks = ShardLocks()
        """A shard's lock is held while a candle is traded on it, it moves, or a command
        applies to it (shard_locks)."""
        self.stop = asyncio.Event()
        ccxt = settings.venue.kind == "ccxt"
        self.venue_label = settings.venue.exchange if ccxt else settings.venue.kind
        self.metrics = Metrics(venue=self.venue_label)
        self.traders: dict[int, ShardTrader] = {}
        self.recent: dict[str, deque[Candle]] = {}
        """The last ``engine.history`` candles of each symbol: a shard taken over warms on them."""
        self.catchup = CatchUp()
        """Caught up with the market stream (in time, not an exact lag of 0): may take shards."""
        self.traded = 0
        self.warmed = 0
        """Candles in a row an exchange's shards only warmed on (the worker behind the market)."""
        self.rounds = 0
        """Lease rounds done (the first takes nothing)."""
        self.db: Any = None
        self.leases: ShardLeases | None = None
        self.nc: Any = None
        self.commands: Any = None
        """The command stream (JetStream), to send a kill switch the risk engaged here."""
        self.receiver: CommandReceiver | None = None
        self.subscription: CandleSubscription | None = None
        self.instruments: dict[str, Instrument] = {}
        self.background: set[asyncio.Task[None]] = set()
        """Work a command started and left running (a kill switch's cancels, under the lock)."""
        self.notices: OutboxWriter | None = None
        """What the shards tell investors, written for the servers to send (with a bot)."""
        self._renewed_at = self.ops_clock.now_ms()
        self.keeper: LeaseKeeper | None = None
        """Renews the leases on a thread of its own while :meth:`run` runs."""
        self.takes = Takeovers(self.metrics.scale, self.ops_clock)
        self.rebalance = Rebalance(self.ops_clock, int(self.scale.lease_s * 1000))
        self.watch = WorkerMetrics(self.metrics, self.scale, self.ops_clock, parts.watch_prices)
        """Its registry filled as ``rampart run``'s and served for the fleet's alerts."""
        self.watch.anomalies = parts.anomaly_watch(
            lambda: [t.engine for t in self.traders.values()], self.metrics.registry
        )
        self.watch.business = self.clock
        self.progress = asyncio.Condition()
        """Notified after each candle and each lease round (what a test or a caller waits on)."""

    @property
    def caught_up(self) -> bool:
        return self.catchup.done

    # -- candles ------------------------------------------------------------------------------

    def remember(self, candle: Candle) -> None:
        kept = self.recent.get(candle.symbol)
        if kept is None:
            kept = self.recent[candle.symbol] = deque(maxlen=self.settings.engine.history)
        if not kept or candle.close_ts > kept[-1].close_ts:
            kept.append(candle)

    def recent_candles(self) -> Iterator[Candle]:
        for kept in self.recent.values():
            yield from kept


__all__ = ["NAME", "WorkerState", "default_name"]

"""A worker's own metrics, filled as ``rampart run`` fills its registry, and served for the
fleet's alerts.

Each shard's bus counts into the worker's registry (orders and their outcomes, breaker trips
and halts, the kill switch, unexplained reports) as the service's bus does; a failed store write
marks the database down, as in ``rampart run``; every statement is timed and every error-level
log line counted. Every ``scale.renew_every_s`` the state gauges are set from the engines of
every shard held (accounts, positions, halts, problems), with the feed's staleness per symbol,
the database probe and the resident memory. The registry is served on ``/metrics`` at
``scale.metrics_host``:``scale.metrics_port`` (0: a free port the system picks), and the
address goes into the worker's heartbeat row: the ``rampart serve`` holding the ops lease
scrapes it and evaluates every alert rule over the fleet (:mod:`rampart.fleet.alerts`).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import structlog
from prometheus_client import Gauge, start_http_server

from rampart.clock import Clock
from rampart.domain.candles import Candle
from rampart.fleet.shard import ShardTrader
from rampart.market.price_guard import PriceGuard
from rampart.messaging.settings import ScaleConfig
from rampart.observability.anomaly_watch import AnomalyWatch, follow
from rampart.observability.db_metrics import instrument_database
from rampart.observability.launch_sampler import sample_memory, store_state_hook
from rampart.observability.log_counter import install_log_counter
from rampart.observability.market_data_metrics import MarketDataMetrics
from rampart.observability.metrics import Metrics
from rampart.runtime.probes import database_probe
from rampart.store.errors import not_answering
from rampart.trading.bus import Topic

log = structlog.get_logger("rampart.worker.metrics")

WILDCARDS = frozenset({"", "0.0.0.0", "::"})  # noqa: S104 - compared with, never bound
"""Listening on every address: the heartbeat row names the machine instead."""


def metrics_address(host: str, port: int) -> str:
    """The URL another machine scrapes for metrics served on ``host``:``port``."""
    shown = socket.getfqdn() if host in WILDCARDS else host
    if ":" in shown:
        shown = f"[{shown}]"
    return f"http://{shown}:{port}/metrics"


def forget_accounts(gauge: Gauge, held: set[str]) -> None:
    """Drop ``gauge``'s series of the accounts no shard held here trades any more. A shard
    handed on would keep its last BooksDifferUnrepaired count on this worker's registry, so
    the P0 would never resolve once the books match under the next holder; the holder's own
    count is the one that speaks."""
    for metric in gauge.collect():
        for sample in metric.samples:
            account = sample.labels.get("account")
            if account is not None and account not in held:
                with contextlib.suppress(KeyError):
                    gauge.remove(account)


class WorkerMetrics:
    def __init__(
        self,
        metrics: Metrics,
        scale: ScaleConfig,
        ops_clock: Clock,
        watch_prices: Callable[[PriceGuard, MarketDataMetrics], None],
    ) -> None:
        self.metrics = metrics
        self.watch_prices = watch_prices
        """Counts what a shard's price guard holds and drops (``WorkerParts.watch_prices``)."""
        self.scale = scale
        self.ops_clock = ops_clock
        self.url = ""
        """Where the registry is served (set by :meth:`open`)."""
        self._server: Any = None
        self._undo: list[Callable[[], None]] = []
        self._feed_seen: dict[str, tuple[int, int]] = {}
        """Symbol → (close of the newest candle, when it arrived on the ops clock)."""
        self._probe: Any = None
        self._traders: Callable[[], Sequence[ShardTrader]] = list
        self._symbols: list[str] = []
        self._recent: Mapping[str, Sequence[Candle]] = {}
        self._lag: Callable[[], int] | None = None
        self.anomalies: AnomalyWatch | None = None
        """One anomaly watch over every shard's bus (set by the worker when they are on)."""
        self.business: Clock = ops_clock
        """The orders' clock the held anomalies lapse on (the worker's engines' clock)."""

    def open(self, db: Any, slow_query_ms: float = 0.0) -> str:
        """Time the store's statements, count error lines, serve the registry; its URL."""
        self._undo.append(instrument_database(db, self.metrics, slow_query_ms))
        self._undo.append(install_log_counter(self.metrics))
        self._probe = database_probe(db, down=not_answering)
        server, _thread = start_http_server(
            self.scale.metrics_port, self.scale.metrics_host, registry=self.metrics.registry
        )
        self._server = server
        self.url = metrics_address(self.scale.metrics_host, int(server.server_port))
        return self.url

    def bind(
        self,
        traders: Callable[[], Sequence[ShardTrader]],
        symbols: Iterable[str],
        recent: Mapping[str, Sequence[Candle]],
        lag: Callable[[], int] | None = None,
    ) -> None:
        """What :meth:`sample` reads: the shards held, the feed's symbols with the candles
        received, and how far behind the market stream the worker is."""
        self._traders, self._symbols, self._recent, self._lag = traders, list(symbols), recent, lag

    def watch(self, trader: ShardTrader) -> None:
        """Count what the shard's bus carries into the worker's registry."""
        session = trader.session
        session.bus.subscribe(self.metrics.on_event)
        session.bus.subscribe(self.metrics.launch.agents.on_event, topics={Topic.DECISIONS})
        session.bus.on_failure = self.metrics.bus.subscriber_failed
        session.on_store = store_state_hook(self.metrics, None)  # counted as rampart run does
        self.watch_prices(session.prices, self.metrics.launch.market_data)
        if self.anomalies is not None:
            follow(self.anomalies, session.bus)

    async def sample(self) -> None:
        """Set the state gauges the rules read, as ``rampart run``'s health sampler does."""
        metrics = self.metrics
        traders = self._traders()
        metrics.sample_engines([t.engine for t in traders])
        here = {a for t in traders for a in t.engine.accounts}
        forget_accounts(metrics.unrepaired, here)
        metrics.protection.keep_accounts(here)
        if self._lag is not None:  # live: a worker stuck on a candle falls behind meanwhile
            metrics.scale.consumer_lag.labels(stream="market").set(self._lag())
        now = self.ops_clock.now_ms()
        for symbol in self._symbols:
            kept = self._recent.get(symbol)
            ts = kept[-1].close_ts if kept else 0
            seen = self._feed_seen.get(symbol)
            if seen is None or seen[0] != ts:
                self._feed_seen[symbol] = (ts, now)
                age = 0.0
            else:
                age = (now - seen[1]) / 1000
            metrics.feed_staleness(symbol, age)
        sample_memory(metrics)
        if self.anomalies is not None:  # held anomalies lapse on the orders' clock
            self.anomalies.expire(self.business.now_ms())
        if self._probe is not None:
            # Down only when the database does not answer: a slow probe or rows refused for
            # their own reason are not DatabaseDown.
            check = await self._probe()
            down = any(t.session.store_unanswered for t in traders)
            metrics.database_up((check.ok or check.slow) and not down)

    async def run(self, stop: asyncio.Event) -> None:
        """:meth:`sample` every ``scale.renew_every_s`` until ``stop``."""
        while not stop.is_set():
            try:
                await self.sample()
            except Exception as err:  # stale gauges, never a stopped worker
                log.warning("worker_metrics_failed", error=f"{type(err).__name__}: {err}")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.scale.renew_every_s)

    def close(self) -> None:
        for undo in reversed(self._undo):
            with contextlib.suppress(Exception):
                undo()
        self._undo.clear()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


__all__ = ["WorkerMetrics", "forget_accounts", "metrics_address"]

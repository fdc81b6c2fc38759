"""The scale soak's parts: its settings for ``rampart worker``, the workers as the
harness drives them, the feed's end, and the store (SQLite, or a fresh schema on PostgreSQL
reached through a relay the harness can cut).

A :class:`SoakWorker` is the real :class:`~rampart.fleet.worker.Worker`; the harness runs its
lease rounds itself, on the liveness clock it advances, instead of the worker's timers, and
knows when each candle has gone round all of its shards."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import sqlalchemy as sa
from rich.console import Console

from rampart.clock import Clock
from rampart.config import Settings, load_settings
from rampart.domain.candles import Candle
from rampart.domain.errors import ConfigError, present
from rampart.fleet.worker import Worker
from rampart.wiring.fleet_parts import worker_parts
from rampart_testkit.simulator.runner import SimulatorHandle
from rampart_testkit.soak.config import PROFILE_MIX, SoakConfig
from rampart_testkit.soak.stats import Latency
from rampart_testkit.tcp_relay import TcpRelay

HANG_GUARD_S = 60.0
"""Only so that a broken run fails instead of hanging; nothing is judged on wall time."""
AGENTS = (
    ("trend", {"fast": 2, "slow": 4, "atr_period": 3, "atr_k": 1.0}),
    ("mean_reversion", None),
    ("breakout", None),
    ("trend", {"fast": 3, "slow": 6, "atr_period": 3, "atr_k": 1.0}),
)
HISTORY = 50
"""Candles each worker keeps per symbol (``engine.history``): ample for the agents here, and
full early, so the memory baseline can be taken once it is (every bounded history full)."""
PROFILES = {
    name: {"min_stop": "0.002", "min_rr": "1", "consecutive_losses": 1000} for name in PROFILE_MIX
}


@dataclass
class ScaleConfig:
    workers: int = 3
    shards: int = 6
    lease_s: float = 6.0
    """Liveness seconds; the harness advances the liveness clock ``ops_step_s`` per candle."""
    ops_step_s: float = 2.0
    store_url: str | None = None
    """A PostgreSQL URL (a fresh schema is made in it and dropped after); None: SQLite."""
    gap: int = 0
    """Candles between fault episodes (0: enough for a takeover and a quiet check)."""
    processes: bool = False
    """Each worker a ``rampart worker`` process of its own (:mod:`.scale_processes`): a crash
    is SIGKILL, a pause SIGSTOP then SIGCONT, and liveness runs on the wall clock."""

    def __post_init__(self) -> None:
        if not 2 <= self.workers <= 16:
            raise ConfigError("The scale soak runs between 2 and 16 workers (--workers).")
        if self.processes and self.store_url is None:
            raise ConfigError(
                "--worker-processes shares one store between processes: give it a PostgreSQL "
                "database with --store-url."
            )
        if self.store_url is not None and not self.store_url.startswith("postgresql"):
            raise ConfigError(
                "--store-url is a postgresql+psycopg:// URL (the scale soak makes a fresh schema "
                f"in it); without it the store is SQLite. Got {self.store_url!r}."
            )

    @property
    def renew_every_s(self) -> float:
        """A worker process renews on its own timer, several times a lease; the in-process
        workers' rounds are the harness's, one a candle."""
        return min(0.5, self.lease_s / 4) if self.processes else self.ops_step_s

    @property
    def lease_steps(self) -> int:
        return int(self.lease_s / self.ops_step_s) + 1


def settings(
    config: SoakConfig,
    scale: ScaleConfig,
    sim: SimulatorHandle,
    keys: dict[str, tuple[str, str]],
    db: str,
    nats_url: str,
) -> Settings:
    return load_settings(**settings_data(config, scale, sim, keys, db, nats_url))


def settings_data(
    config: SoakConfig,
    scale: ScaleConfig,
    sim: SimulatorHandle,
    keys: dict[str, tuple[str, str]],
    db: str,
    nats_url: str,
) -> dict[str, Any]:
    """The workers' settings, as a settings file holds them."""
    accounts = []
    for i, account_id in enumerate(config.account_ids()):
        agent, params = AGENTS[i % len(AGENTS)]
        traded = config.symbols if i % 4 == 3 else (config.symbols[i % len(config.symbols)],)
        accounts.append(
            {
                "id": account_id,
                "agent": agent,
                "params": params or {},
                "profile": PROFILE_MIX[i % len(PROFILE_MIX)],
                "symbols": list(traded),
                "capital": int(config.capital),
            }
        )
    return dict(
        mode="paper",
        venue={
            "kind": "ccxt",
            "exchange": "binance",
            "api_url": sim.url,
            "rate_limit_ms": 0,
            "request_timeout_s": config.client_timeout_ms / 1000,
            # The soak is not about the request budget (tests/venues prove it): polls are free.
            "budget": {"enabled": False},
            "credentials": {a: {"api_key": k, "secret": s} for a, (k, s) in keys.items()},
        },
        feed={"kind": "ccxt", "symbols": list(config.symbols), "timeframe": config.timeframe},
        accounts=accounts,
        profiles=PROFILES,
        store={"url": db, "checkpoint_every": config.checkpoint_every},
        engine={"history": HISTORY},
        alerts={"enabled": False},
        api={"enabled": False},
        scale={
            "nats_url": nats_url,
            "shards": scale.shards,
            "lease_s": scale.lease_s,
            "renew_every_s": scale.renew_every_s,
            "market_keep": 200,
        },
    )


class SoakWorker(Worker):
    """A worker the harness drives: it says when a candle has gone round all its shards."""

    def __init__(self, settings: Settings, name: str, ops_clock: Clock) -> None:
        super().__init__(
            settings,
            Console(quiet=True),
            worker_parts(settings),
            name=name,
            ops_clock=ops_clock,
            install_signals=False,
        )
        self.done: dict[str, int] = {}
        """The close time of the last candle of each symbol handed round its shards."""
        self.task: asyncio.Task[None] | None = None
        self.paused = False
        self.crashed = False
        self.stopping: asyncio.Task[None] | None = None
        self.handed: dict[int, dict[str, int]] = {}
        """Each shard handed back: the close time of the last candle it had traded, per
        symbol."""
        self.shard_seen: dict[int, int] = {}
        """The close of the newest candle handed round each shard held."""
        self.frozen: list[asyncio.Lock] = []

    async def freeze(self, shards: int) -> None:
        """Paused between two shards of the candle going round: every shard's lock held, held
        here or not (a take's last steps stand still too)."""
        self.paused = True
        self.frozen = [self.locks(shard) for shard in range(shards)]
        for lock in self.frozen:
            await lock.acquire()

    def thaw(self) -> None:
        self.paused = False
        for lock in self.frozen:
            lock.release()
        self.frozen = []

    def time_orders(self, latency: Latency) -> None:
        """Add each order's round trip (the venue's send to the exchange's answer, as the
        worker's ``rampart_order_latency_seconds`` observes it) to ``latency`` too."""
        observe = self.metrics.order_latency

        def both(venue: str, seconds: float) -> None:
            observe(venue, seconds)
            latency.add(seconds)

        self.metrics.order_latency = both  # type: ignore[method-assign]

    async def on_candle(self, candle: Candle, lag: int) -> None:
        await super().on_candle(candle, lag)
        self.done[candle.symbol] = max(self.done.get(candle.symbol, 0), candle.close_ts)
        for shard, trader in self.traders.items():
            if trader.trading and self.leases is not None and self.leases.valid(shard):
                self.shard_seen[shard] = max(self.shard_seen.get(shard, 0), candle.close_ts)
        async with self.progress:
            self.progress.notify_all()

    def stop_mid_candle(self, close_ts: int) -> None:
        """Stop cleanly right after the first shard has traded a candle closing at
        ``close_ts`` or later (still holding the lock, so the stop is next in line for it):
        the other shards are handed back before they trade it."""
        self.handed.clear()
        for trader in self.traders.values():
            trade = trader.trade

            async def trade_then_stop(
                candle: Candle, recent: Sequence[Candle] = (), *, trade: Any = trade
            ) -> bool:
                traded = bool(await trade(candle, recent))
                if candle.close_ts >= close_ts and self.stopping is None:
                    self.stopping = asyncio.create_task(self.stop_cleanly())
                    await asyncio.sleep(0)  # the stop starts and waits for the lock
                return traded

            trader.trade = trade_then_stop  # type: ignore[method-assign]

    async def _hand_back(self, shard: int) -> bool:
        trader = self.traders.get(shard)
        if trader is not None:
            self.handed[shard] = dict(trader.engine.data_ts)
        return await super()._hand_back(shard)

    async def start(self) -> None:
        await self.open()
        subscription = present(self.subscription, "the market subscription (the worker is open)")
        self.task = asyncio.create_task(subscription.run(self.stop), name=self.name)

    def reached(self, close_ts: dict[str, int]) -> bool:
        return all(self.done.get(s, 0) >= ts for s, ts in close_ts.items())

    async def wait_until(self, close_ts: dict[str, int]) -> bool:
        """Every candle up to ``close_ts`` handed round; False after the hang guard."""

        async def wait() -> None:
            async with self.progress:
                await self.progress.wait_for(lambda: self.reached(close_ts))

        try:
            await asyncio.wait_for(wait(), HANG_GUARD_S)
        except TimeoutError:
            return False
        return True

    async def crash(self) -> None:
        """Stop as a killed process does: nothing handed back, nothing saved."""
        self.crashed = True
        self.stop.set()
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self.task
        for trader in list(self.traders.values()):
            await trader.drop()
        self.traders.clear()
        self.leases = None  # aclose hands nothing back
        await self.aclose()

    async def stop_cleanly(self) -> None:
        """Stop as on SIGTERM: every shard checkpointed and released, one at a time."""
        self.stop.set()
        await self.aclose()
        if self.task is not None:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self.task


class Store:
    """The soak's store: a SQLite file, or a fresh schema on PostgreSQL behind a TCP relay."""

    def __init__(self, url: str | None, sqlite_path: Any) -> None:
        self.relay: TcpRelay | None = None
        self.schema: str | None = None
        self.base = url
        if url is None:
            with contextlib.suppress(FileNotFoundError):
                sqlite_path.unlink()
            self.url = f"sqlite:///{sqlite_path}"
            return
        parts = urlsplit(url)
        if parts.hostname is None:
            raise ConfigError(f"--store-url names no host: {url!r}.")
        self.schema = f"soak_{uuid.uuid4().hex[:10]}"
        admin = sa.create_engine(url)
        try:
            with admin.begin() as conn:
                conn.execute(sa.text(f'CREATE SCHEMA "{self.schema}"'))
        except sa.exc.SQLAlchemyError as err:
            cause = type(getattr(err, "orig", None) or err).__name__
            raise ConfigError(
                f"PostgreSQL at {parts.hostname}:{parts.port or 5432} did not let the soak make "
                f"a schema ({cause}): start it, or fix --store-url."
            ) from err
        finally:
            admin.dispose()
        self.relay = TcpRelay(parts.hostname, parts.port or 5432)
        netloc = parts.netloc.rsplit("@", 1)
        auth = f"{netloc[0]}@" if len(netloc) == 2 else ""
        relayed = parts._replace(netloc=f"{auth}127.0.0.1:{self.relay.port}")
        sep = "&" if parts.query else ""
        query = f"{parts.query}{sep}options=-csearch_path%3D{self.schema}"
        self.url = urlunsplit(relayed._replace(query=query))

    @property
    def sqlite(self) -> bool:
        return self.relay is None

    def direct_url(self) -> str:
        """The PostgreSQL store's URL past the relay (what the harness reads with)."""
        relay_of = present(self.relay, "the store's relay (a PostgreSQL store)")
        relay = f"127.0.0.1:{relay_of.port}"
        target = f"{relay_of.target[0]}:{relay_of.target[1]}"
        return self.url.replace(relay, target, 1)

    def close(self) -> None:
        if self.relay is not None:
            self.relay.cut()
        if self.base is not None and self.schema is not None:
            admin = sa.create_engine(self.base)
            try:
                with admin.begin() as conn:
                    conn.execute(sa.text(f'DROP SCHEMA "{self.schema}" CASCADE'))
            finally:
                admin.dispose()


def all_traders(workers: list[SoakWorker]) -> Iterator[tuple[SoakWorker, Any]]:
    for worker in workers:
        for trader in list(worker.traders.values()):
            yield worker, trader


__all__ = [
    "HANG_GUARD_S",
    "HISTORY",
    "ScaleConfig",
    "SoakWorker",
    "Store",
    "all_traders",
    "settings",
    "settings_data",
]

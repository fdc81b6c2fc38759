"""The remote soak: the whole engine trading on the wall clock against a configured exchange
(its testnet, or the exchange simulator run as if it were one), judged by what the exchange
answers.

Nothing here controls the exchange: no market is advanced, no fault injected, no account
funded. The keys, the exchange, its testnet and URL, the symbols, the timeframe and the feed's
pace come from the settings, as ``rampart run`` takes them; the agents are the soak's mix
(mostly :class:`~rampart_testkit.soak.agent.ChurnAgent`, which trades every few candles). The
run lasts ``duration_s`` of wall time (or until SIGINT/SIGTERM, which still writes the report)
and is judged by :mod:`rampart_testkit.soak.remote_venue`: exact checks of the books against
the exchange in quiet spells, protection on every candle, and at the end every order and trade
of the run against what the engine registered and booked.

Each run trades under account ids of its own (``<configured id>.<run tag>``), so its client
order ids never meet a previous run's orders on the same account.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
from typing import TYPE_CHECKING, Any

import structlog

from rampart.clock import SimClock, WallClock
from rampart.domain.candles import Candle, timeframe_ms
from rampart.domain.errors import ConfigError, StoreError
from rampart.domain.events import Event, ReconciliationRepaired
from rampart.market.ccxt_feed import CcxtFeed
from rampart.operator.accounts import quote_of
from rampart.store.db import open_database
from rampart.store.writer import StoreWriter
from rampart.trading.bus import EventBus
from rampart.trading.engine import Engine
from rampart.trading.reconcile.books import UNSETTLED
from rampart.trading.reconcile.context import ReconcileReport
from rampart.trading.reconcile.reconciler import Reconciler
from rampart.trading.reconcile.schedule import ReconcileSchedule, ReconnectWatch
from rampart.wiring.venues import (
    account_clients,
    make_ccxt_feed,
    public_client,
    retry_policy,
    unknown_grace_s,
)
from rampart_testkit.soak import build
from rampart_testkit.soak.config import SoakConfig
from rampart_testkit.soak.remote_accounts import account_specs, host
from rampart_testkit.soak.remote_stats import RemoteStats, check_settings, run_tag
from rampart_testkit.soak.remote_venue import (
    RunLedger,
    VenueReader,
    account,
    books_differences,
    open_orders_problem,
)
from rampart_testkit.soak.stats import resident_mb, rss_mb
from rampart_testkit.soak.stepping import (
    RecentCandles,
    count_reconciliation,
    reconciliation_differences,
    record_crash,
    score,
)
from rampart_testkit.soak.stop_budget import StopBudget, bounded_once_stopped

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from rampart.clock import Clock
    from rampart.config import Settings

log = structlog.get_logger("rampart_testkit.soak.remote")

CHECK_TRIES = 5
"""A check in a quiet spell reads the exchange right after a reconciliation; a stop that fills
in between (the market does not wait) makes them differ for a moment. A difference that is
still there after this many reconciliations in a row is one."""
STOPPED_FINISH_S = 3.5
"""What the final checks may take once the run is told to stop, counted from the signal: with
the clients closed by :data:`STOPPED_CLOSED_BY_S` and the simulator's stop after them, the run
ends within 10 s of a SIGTERM even when starved of CPU (at 10x oversubscription, on a machine
busy with other work besides, everything it does takes ten times as long or more)."""
STOPPED_CLOSED_BY_S = 5.0
"""By when, counted from the signal, closing the clients (the feed, the venue's sockets) is
given up; what is not closed by then goes with the process."""
SETTLE_POLL_S = 1.0
"""Between reconciliations while unconfirmed orders settle after the run."""


class RemoteSoak:
    engine: Engine
    feed: CcxtFeed
    db: Any

    def __init__(
        self,
        settings: Settings,
        config: SoakConfig,
        progress: Callable[[float, float, RemoteStats], None] | None = None,
    ) -> None:
        self.settings = settings
        self.cfg = config
        self.progress = progress
        self.wall = WallClock()
        self.stats = RemoteStats()
        self.ledger = RunLedger()
        self.bus = EventBus()
        self.history = RecentCandles()
        self.watch = ReconnectWatch(self._count_call)
        self.reconciler = Reconciler(unknown_grace_s=unknown_grace_s(settings.venue))
        self.stale: set[str] = set()
        self._stale_since: dict[str, float] = {}
        self.stop = asyncio.Event()
        self.budget = StopBudget(self.stop)

    # -- hooks ----------------------------------------------------------------------------------

    def _count_call(self, endpoint: str, seconds: float, kind: str | None) -> None:
        self.stats.api_calls += 1
        if kind is not None:
            self.stats.api_errors[kind] += 1
            self.stats.errors[kind] += 1

    def _on_event(self, event: Event) -> None:
        if isinstance(event, ReconciliationRepaired):
            self.stats.repairs[event.kind] += 1

    def _on_stale(self, symbol: str, stale: bool) -> None:
        now = time.monotonic()
        if stale:
            self.stale.add(symbol)
            self._stale_since[symbol] = now
        else:
            self.stale.discard(symbol)
            self.stats.stale_s += now - self._stale_since.pop(symbol, now)

    # -- setting up -----------------------------------------------------------------------------

    async def _setup(self) -> VenueReader:
        """Clients, venue, engine and feed from the settings; everything opened is closed
        again when a step fails (an exchange that cannot be reached, an account refused)."""
        self._opened: list[Any] = []
        try:
            return await self._build()
        except BaseException:
            for client in self._opened:
                with contextlib.suppress(Exception):
                    await client.close()
            raise

    async def _build(self) -> VenueReader:
        settings, cfg, stats = self.settings, self.cfg, self.stats
        configured = check_settings(settings)[: cfg.accounts]
        quote = quote_of(cfg.symbols)
        stats.started_ms = self.wall.now_ms()
        tag = run_tag(stats.started_ms)
        stats.accounts = {f"{c}.{tag}": c for c in configured}
        stats.exchange, stats.symbols, stats.timeframe = (
            settings.venue.exchange,
            list(cfg.symbols),
            cfg.timeframe,
        )
        stats.sandbox = settings.venue.sandbox or settings.mode == "testnet"
        trading = account_clients(settings, configured)
        auditing = account_clients(settings, configured)
        public = public_client(settings)
        self._opened = [*trading.values(), *auditing.values(), public]
        clients = {e: trading[c] for e, c in stats.accounts.items()}
        reader = VenueReader(
            {e: auditing[c] for e, c in stats.accounts.items()}, cfg.symbols, stats.exchange
        )
        problem = open_orders_problem(await reader.states(), stats.accounts)
        if problem is not None:
            raise ConfigError(problem)
        stats.host = host(public)
        self.clock = SimClock(stats.started_ms)
        self.quote = quote
        self.venue = await self._venue(clients, public)
        self.bus.subscribe(self.ledger)
        self.bus.subscribe(self._on_event)
        self.engine = await self._engine()
        tf = timeframe_ms(cfg.timeframe)
        since = (stats.started_ms // tf - cfg.warmup_candles - 1) * tf
        self.feed = make_ccxt_feed(
            settings,
            self.wall,
            cfg.symbols,
            on_stale=self._on_stale,
            on_call=self.watch,
            since_ms=since,
        )
        return reader

    def _engine_clock(self) -> Clock:
        """What the engine and its venue read (the wall run steps it)."""
        return self.clock

    async def _venue(self, clients: dict[str, Any], public: Any, **more: Any) -> build.TimedVenue:
        """The engine's venue on the accounts' ``clients`` (``more``: the wall run's order
        streams)."""
        v = self.settings.venue
        venue = build.TimedVenue(
            clients,
            clock=self._engine_clock(),
            exchange_id=v.exchange,
            public=public,
            policy=retry_policy(v),
            bracket_mode=v.bracket_mode,
            unknown_grace_s=unknown_grace_s(v),
            on_call=self.watch,
            **more,
        )
        venue.order_latency = self.stats.order_latency
        await venue.load(self.cfg.symbols)
        return venue

    async def _engine(
        self, snapshot: dict[str, Any] | None = None, history: Iterable[Candle] = ()
    ) -> Engine:
        """The engine with the soak's accounts (from ``snapshot`` when it restarts)."""
        engine = await build.engine(
            self.cfg,
            self.venue,
            self._engine_clock(),
            self.bus,
            self.stats.signal_latency,
            snapshot=snapshot,
            history=history,
            accounts=account_specs(
                self.settings, self.cfg, self.stats.accounts, list(self.stats.accounts), self.quote
            ),
            compute_latency=True,
            **self._engine_options(),
        )
        engine.stale_symbols = self.stale
        return engine

    def _engine_options(self) -> dict[str, Any]:
        return {}

    def _store(self) -> StoreWriter | None:
        if not self.cfg.store:
            return None
        self.cfg.out_dir.mkdir(parents=True, exist_ok=True)
        path = self.cfg.out_dir / "soak.db"
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        self.db = open_database(f"sqlite:///{path}")
        writer = StoreWriter(self.db)
        now = self.clock.now_ms()
        for acct in self.engine.accounts.values():
            writer.upsert_account(acct.spec, acct.state.value, acct.paused, now)
        self.bus.subscribe(writer)
        return writer

    # -- running --------------------------------------------------------------------------------

    async def run(self) -> RemoteStats:
        stats = self.stats
        stats.rss_start_mb = rss_mb()
        started = time.monotonic()
        loop = asyncio.get_running_loop()
        signals = (signal.SIGINT, signal.SIGTERM)
        for sig in signals:  # before the setup: a stop during it ends the run, with its report
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, self.budget.on_signal)
        reader = await self._setup()
        self.writer = self._store()
        try:
            await self._warm()
            await self._reconcile("start", reader, check=True)
            log.info("remote_soak_trading", setup_s=round(time.monotonic() - started, 2))
            await self._loop(reader, time.monotonic())
            await self._finish_in_time(reader)
            # A full collection (what rss_mb does) takes seconds on a starved machine; a run
            # told to stop fails its memory check anyway (it did not run its length).
            stats.rss_end_mb = rss_mb() if not self.stop.is_set() else resident_mb()
            stats.ledger_mb = self.ledger.size_mb()
        finally:
            for sig in signals:
                with contextlib.suppress(NotImplementedError, RuntimeError):
                    loop.remove_signal_handler(sig)
            self._flush()
            await bounded_once_stopped(
                self.stop,
                self._close(reader),
                self.budget.left_s(STOPPED_CLOSED_BY_S),
                "closing the clients",
            )
        stats.wall_s = time.monotonic() - started
        stats.ended_ms = self.wall.now_ms()
        return stats

    async def _warm(self) -> None:
        """The agents see the recent candles (not traded), as ``rampart run`` warms them."""
        warm: list[Candle] = []
        for symbol in self.cfg.symbols:
            warm.extend(await self.feed.backfill(symbol))
        for candle in sorted(warm, key=lambda c: (c.ts, c.symbol)):
            self.clock.set(max(self.clock.now_ms(), candle.close_ts))
            self.history.add(candle)
            self.engine.warm(candle)

    async def _close(self, reader: VenueReader) -> None:
        await asyncio.gather(self.feed.close(), self.venue.aclose(), reader.close())

    async def _loop(self, reader: VenueReader, started: float) -> None:
        """Trade until ``duration_s`` of wall time after ``started`` (or a stop signal)."""
        cfg, stats = self.cfg, self.stats
        schedule = ReconcileSchedule(cfg.reconcile_every_s)
        schedule.due(self.clock.now_ms())  # the start run was the first
        deadline = started + cfg.duration_s
        baseline_at = started + cfg.duration_s * cfg.baseline_at
        poll_s = self.settings.feed.poll_every_s
        feed_ok, since_checkpoint = True, 0
        while not self.stop.is_set() and time.monotonic() < deadline:
            polled = await self._guarded(self.feed.poll_once(), "feed")
            batch, ok = polled if polled is not None else ([], False)
            recovered, feed_ok = ok and not feed_ok, ok
            for candle in batch:
                self.clock.set(max(self.clock.now_ms(), candle.close_ts))
                self.history.add(candle)
                await self._guarded(self.engine.on_candle(candle), "engine")
                stats.candles += 1
            if batch:
                stats.steps += 1
                since_checkpoint += 1
                await self._protection(reader)
            reason = schedule.due(self.clock.now_ms(), self.watch.take() or recovered)
            if reason is not None:
                await self._reconcile(reason, reader, check=True)
            if since_checkpoint >= cfg.checkpoint_every:
                since_checkpoint = 0
                self._flush(self.engine.snapshot())
            if not stats.rss_baseline_mb and time.monotonic() >= baseline_at:
                stats.rss_baseline_mb = rss_mb()
                stats.ledger_baseline_mb = self.ledger.size_mb()
            if self.progress is not None:
                self.progress(time.monotonic() - started, cfg.duration_s, stats)
            left = deadline - time.monotonic()
            if left > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.stop.wait(), timeout=min(poll_s, left))
        stats.interrupted = self.stop.is_set()
        stats.duration_s = cfg.duration_s
        stats.traded_s = time.monotonic() - started

    async def _protection(self, reader: VenueReader) -> None:
        states = await self._guarded(reader.states(), "reading the exchange")
        if states is not None:
            self.stats.protection.check(self.engine, states)

    def _unsettled(self) -> bool:
        return any(
            o.status in UNSETTLED for a in self.engine.accounts.values() for o in a.orders.values()
        )

    async def _reconcile(self, reason: str, reader: VenueReader, *, check: bool) -> None:
        """A reconciliation; then, when nothing is unconfirmed, the books against the exchange
        (reconciled again, up to :data:`CHECK_TRIES` times, while a fill races the read)."""
        report = await self._run_reconcile(reason)
        if not check:
            return
        if self._unsettled():
            self.stats.checks_deferred += 1
            return
        differences: list[str] = []
        for attempt in range(CHECK_TRIES):
            if attempt:
                report = await self._run_reconcile("recheck")
            differences = await self._differences(report, reader)
            if not differences:
                break
        score(self.stats, differences)

    async def _run_reconcile(self, reason: str) -> ReconcileReport | None:
        run = self.reconciler.run(self.engine, reason=reason)
        report: ReconcileReport | None = await self._guarded(run, "reconcile")
        count_reconciliation(self.stats, reason, report, quiet=True)
        return report

    async def _differences(self, report: ReconcileReport | None, reader: VenueReader) -> list[str]:
        states = await self._guarded(reader.states(), "reading the exchange")
        if states is None:
            return ["the exchange's balances and open orders could not be read"]
        held = {t.client_id for t in self.venue.tracked() if t.local}
        return books_differences(self.engine, states, held) + reconciliation_differences(report)

    async def _finish_in_time(self, reader: VenueReader) -> None:
        """:meth:`_finish`; after a stop signal within :data:`STOPPED_FINISH_S`, so that the
        run ends within 10 s with the report of what ran so far (an operator's SIGTERM,
        systemd's stop). Checks cut short are said in the report, and fail it."""
        if not self.stop.is_set():
            await self._finish(reader)
            return
        try:
            async with asyncio.timeout(self.budget.left_s(STOPPED_FINISH_S)):
                await self._finish(reader)
        except TimeoutError:
            self.stats.crashes.append(
                f"the final checks were cut short after {STOPPED_FINISH_S:g} s: the run was "
                "told to stop, so its lost and duplicated counts are incomplete"
            )

    async def _finish(self, reader: VenueReader) -> None:
        """No more candles for the agents: unconfirmed orders settle (looked up by their client
        ids once the exchange's receive window has passed), the books are checked one last
        time, and every order and trade of the run is read back."""
        stats = self.stats
        deadline = time.monotonic() + self.cfg.final_settle_wall_s
        report = None
        while True:
            self.clock.set(max(self.clock.now_ms(), self.wall.now_ms()))
            report = await self._run_reconcile("final")
            if not self._unsettled() or time.monotonic() > deadline:
                break
            await asyncio.sleep(SETTLE_POLL_S)
        differences: list[str] = []
        for attempt in range(CHECK_TRIES):
            if attempt:
                self.clock.set(max(self.clock.now_ms(), self.wall.now_ms()))
                report = await self._run_reconcile("recheck")
            differences = await self._differences(report, reader)
            if not differences:
                break
        stats.final_differences = differences
        score(stats, differences)
        await self._protection(reader)
        await self._account(reader)
        stats.violations += self.engine.violations
        stats.reconnects = self.watch.reconnects
        stats.fills = self.ledger.fills_booked
        stats.orders = self.ledger.orders_registered
        for symbol, since in list(self._stale_since.items()):
            stats.stale_s += time.monotonic() - since
            self._stale_since[symbol] = time.monotonic()

    async def _account(self, reader: VenueReader) -> None:
        """Every order and trade of the run against the books. The run's resting stops and
        targets go on filling after it (the exchange does not stop): a trade the books lack is
        reconciled and everything read again, up to :data:`CHECK_TRIES` times; one still
        missing after that is lost."""
        stats = self.stats
        for attempt in range(CHECK_TRIES):
            if attempt:
                self.clock.set(max(self.clock.now_ms(), self.wall.now_ms()))
                await self._run_reconcile("recheck")
            end = self.wall.now_ms() + 1000
            ids = list(self.engine.accounts)
            found = await self._guarded(
                asyncio.gather(*(reader.history(a, stats.started_ms, end) for a in ids)),
                "reading the history",
            )
            if found is None:
                return  # a crash, recorded: the verdict fails
            stats.accounting = account(self.engine, self.ledger, dict(zip(ids, found, strict=True)))
            if not stats.accounting.lost:
                return

    def _flush(self, checkpoint: dict[str, Any] | None = None) -> None:
        writer = getattr(self, "writer", None)
        if writer is None:
            return
        try:
            saved = None if checkpoint is None else ("soak", self.clock.now_ms(), checkpoint)
            writer.flush(saved)
            self.stats.repairs_stored = writer.stats.rows.get("reconciliation_repairs", 0)
        except (StoreError, OSError) as exc:  # the store is not what the soak measures
            self.stats.crashes.append(f"store flush failed: {exc}")
            writer.discard()

    async def _guarded(self, work: Any, what: str) -> Any:
        try:
            return await work
        except Exception as exc:
            record_crash(self.stats, log, what, exc)
            return None


async def run_remote_soak(
    settings: Settings,
    config: SoakConfig,
    progress: Callable[[float, float, RemoteStats], None] | None = None,
) -> RemoteStats:
    return await RemoteSoak(settings, config, progress).run()


__all__ = ["RemoteSoak", "RemoteStats", "check_settings", "run_remote_soak", "run_tag"]

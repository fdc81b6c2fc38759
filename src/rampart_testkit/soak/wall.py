"""The wall-clock run (``rampart soak --wall 24h``): the whole engine trading on the wall clock
against ``rampart simulator`` run as a process of its own, through the real ccxt client over
HTTP and websocket, with every fault on a schedule, judged as the remote soak judges a testnet.

What it adds to the remote soak (:mod:`rampart_testkit.soak.remote`), whose settings-built
clients, agents, checks and verdict it keeps:

- **the exchange** is started here (:mod:`.wall_sim`), its market on the wall clock, its
  accounts funded by it; it is told about faults through its admin API and nothing else;
- **candles by websocket** (ccxt.pro ``watch_ohlcv``, REST polling behind it while the socket
  is down) and **orders and fills by websocket** (the venue's order streams), as ``rampart
  run`` has them, every candle passing the market-data guard first;
- **faults on a schedule** (:mod:`.wall_faults`): the simulator's (latency, drops, errors, rate
  limits, lost responses, malformed and truncated answers, clock skew, a flapping venue, bad
  candles on REST and on the stream), websockets dropped, the engine restarted from its last
  checkpoint, the store down or flapping, the engine's clock stepped. The books are checked
  against the exchange only in quiet spells (no fault for a few seconds), as the accelerated
  soak does.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import structlog

from rampart.domain.candles import Candle, timeframe_ms
from rampart.domain.errors import StoreError
from rampart.market.guard_settings import PriceGuardConfig
from rampart.market.price_guard import PriceGuard
from rampart.market.second_reading import admit_checked
from rampart.trading.reconcile.schedule import ReconcileSchedule
from rampart.wiring.quarantine import second_reading_of
from rampart.wiring.venues import order_stream_twin
from rampart_testkit.soak import build, dirty, faults
from rampart_testkit.soak.chaos import BAD_CANDLES, DB_FLAP, RESTART
from rampart_testkit.soak.config import PROFILE_MIX
from rampart_testkit.soak.journal import JournaledLedger
from rampart_testkit.soak.memsites import SiteTracer
from rampart_testkit.soak.remote import RemoteSoak
from rampart_testkit.soak.remote_stats import RemoteStats
from rampart_testkit.soak.remote_venue import VenueReader
from rampart_testkit.soak.stats import resident_mb, rss_mb
from rampart_testkit.soak.stepping import record_crash
from rampart_testkit.soak.wall_faults import WS_DROP, PendingFaults, WallCounts, WallPlan
from rampart_testkit.soak.wall_sim import SimAdmin, SimulatorProcess

log = structlog.get_logger("rampart_testkit.soak.wall")

SETTLE_S = 5
"""Quiet seconds after an episode before the books are checked against the exchange."""
PROTECT_EVERY_S = 5
"""Seconds between checks that every position has its stop-loss on the exchange."""
STATUS_EVERY_S = 600.0
"""A line in ``OUT/wall-progress.log`` this often: a day-long run says it is alive."""
COOLDOWN_CANDLES = 60
"""Candles a losing streak's cooldown lasts in the wall run."""
SPOILED_FOR_S = 10
"""Seconds after a bad-candles episode during which spoiled rows are still asked for (a
candle spoiled on the stream reaches the engine when the next one opens)."""


@dataclass
class WallStats(RemoteStats):
    wall: WallCounts = field(default_factory=WallCounts)


class WallSoak(RemoteSoak):
    stats: WallStats
    ledger: JournaledLedger
    plan_class: ClassVar[type[WallPlan]] = WallPlan
    timing: ClassVar[dict[str, Any]] = {}
    """The plan's spans in seconds where they differ from :class:`WallPlan`'s (a test's)."""

    def __init__(
        self,
        settings: Any,
        config: Any,
        sim: SimulatorProcess,
        progress: Callable[[float, float, RemoteStats], None] | None = None,
    ) -> None:
        super().__init__(settings, config, progress)
        self.sim = sim
        self.admin = SimAdmin(sim.url)
        self.stats = WallStats()
        self.ledger = JournaledLedger()
        self.pending = PendingFaults()
        self.prices = PriceGuard(PriceGuardConfig(), "ccxt")
        self.suspects = dirty.SuspectWatch(self.stats.dirty, self._symbols_of)
        self.checks = self.stats.fault_checks
        self.store_watch = faults.FaultWatch(self.checks, self._store_down)
        self.outage: faults.StoreOutage | None = None
        self.saved: str | None = None
        self.saved_published = self.store_watch.published.copy()
        self.candles_in: asyncio.Queue[Candle] = asyncio.Queue()
        self.engine_clock: dirty.StepClock | None = None
        self.bus.subscribe(self.suspects)
        self.bus.subscribe(self.store_watch)

    # -- parts ------------------------------------------------------------------------------

    def _engine_clock(self) -> Any:
        if self.engine_clock is None:
            self.engine_clock = dirty.StepClock(self.clock)
        return self.engine_clock

    async def _venue(self, clients: dict[str, Any], public: Any, **more: Any) -> Any:
        twin = order_stream_twin(self.settings)
        poll_s = self.settings.venue.order_stream_poll_s
        return await super()._venue(clients, public, stream_twin=twin, stream_poll_s=poll_s)

    def _engine_options(self) -> dict[str, Any]:
        """The soak's profiles, with the losing-streak cooldown and the loss limits of a run
        on one-second candles: the cooldown lasts :data:`COOLDOWN_CANDLES` candles (the hour
        it is on minute candles), and the daily loss and drawdown limits, which halt an account
        until an operator looks, are wide enough that the churning agents trade all day (the
        run judges the plumbing, not the agents' edge)."""
        tf = timeframe_ms(self.cfg.timeframe)
        relaxed = {
            "cooldown_ms": COOLDOWN_CANDLES * tf,
            "daily_loss": "0.5",
            "max_drawdown": "0.6",
        }
        return {"profile_for": build.profiles_of({n: relaxed for n in PROFILE_MIX})}

    async def _engine(self, snapshot: dict[str, Any] | None = None, history: Any = ()) -> Any:
        engine = await super()._engine(snapshot, history)
        engine.suspect_symbols = self.prices.suspect
        return engine

    def _store(self) -> Any:
        writer = super()._store()
        if writer is not None:
            faults.shorten_lock_wait(self.db)
            self.outage = faults.StoreOutage(self.cfg.out_dir / "soak.db")
            self.store_watch.published.clear()  # the store holds what is published from now on
        return writer

    def _symbols_of(self, account_id: str) -> tuple[str, ...]:
        return self.engine.accounts[account_id].spec.symbols

    def _store_down(self) -> bool:
        engine = getattr(self, "engine", None)
        return engine is not None and bool(engine.store_down)

    async def _warm(self) -> None:
        """As the remote soak warms the agents, with the guard seeing the same candles."""
        warm: list[Candle] = []
        for symbol in self.cfg.symbols:
            warm.extend(await self.feed.backfill(symbol))
        for candle in sorted(warm, key=lambda c: (c.ts, c.symbol)):
            self.clock.set(max(self.clock.now_ms(), candle.close_ts))
            for admitted in self.prices.admit(candle):
                self.history.add(admitted)
                self.engine.warm(admitted)

    async def _streams(self) -> None:
        def state(account_id: str, now: str) -> None:
            if now:  # the streams say "" as they stop
                self.stats.wall.order_streams[now] += 1

        start = getattr(self.venue, "start_order_stream", None)
        if start is not None:
            await self._guarded(start(on_state=state), "starting the order streams")

    # -- the loop ---------------------------------------------------------------------------

    async def _pump(self) -> None:
        """The feed's candles (websocket, REST while it is down) into the loop's queue."""

        def state(now: str) -> None:
            self.stats.wall.feed_ws[now] += 1

        self.feed.on_ws_state = state
        while True:
            try:
                async for candle in self.feed.candles():
                    self.candles_in.put_nowait(candle)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                record_crash(self.stats, log, "feed", exc)
                await asyncio.sleep(1.0)  # the harness's own pause before it tries again

    async def _batch(self, timeout_s: float) -> list[Candle]:
        try:
            first = await asyncio.wait_for(self.candles_in.get(), timeout=max(timeout_s, 0.01))
        except TimeoutError:
            return []
        batch = [first]
        while not self.candles_in.empty():
            batch.append(self.candles_in.get_nowait())
        return batch

    async def _on_candle(self, fed: Candle) -> None:
        """As the service's session does: only what the guard lets count reaches the engine."""
        admitted = await admit_checked(self.prices, second_reading_of(self.venue), fed)
        for candle in admitted:
            self.clock.set(max(self.clock.now_ms(), candle.close_ts))
            self.history.add(candle)
            self.suspects.before(candle)
            await self._guarded(self.engine.on_candle(candle), "engine")
            self.stats.candles += 1
            self.suspects.after()
        self.stats.dirty.quarantined = dict(self.prices.counts)

    async def _loop(self, reader: VenueReader, started: float) -> None:
        cfg, stats = self.cfg, self.stats
        client = next(iter(self.venue.clients.values()))
        plan = self.plan_class(
            self.pending,  # type: ignore[arg-type]
            cfg.faults,
            random.Random(cfg.seed),
            client_timeout_ms=int(self.settings.venue.request_timeout_s * 1000),
            recv_window_ms=int(client.options.get("recvWindow") or 10_000),
            **self.timing,
        )
        schedule = ReconcileSchedule(cfg.reconcile_every_s)
        schedule.due(self.clock.now_ms())  # the start run was the first
        deadline = started + cfg.duration_s
        baseline_at = started + cfg.duration_s * cfg.baseline_at
        stats.wall.sim_rss_start_mb = self._sim_rss()
        sites = SiteTracer(cfg.memory_sites)
        await self._streams()
        pump = asyncio.create_task(self._pump())
        step = last_step = spoiled_until = 0
        checked_spell = -1
        since_checkpoint, next_protect, next_status = 0, 0, started + STATUS_EVERY_S
        try:
            while not self.stop.is_set() and time.monotonic() < deadline:
                if not self.sim.running():
                    stats.crashes.append("the exchange simulator exited during the run")
                    break
                batch = await self._batch(min(1.0, deadline - time.monotonic()))
                if plan.active_kind() == BAD_CANDLES:
                    spoiled_until = step + SPOILED_FOR_S
                if step <= spoiled_until:
                    rows = await self._admin(self.admin.corrupted(), "spoiled rows")
                    self.suspects.take(rows or ())
                for candle in batch:
                    await self._on_candle(candle)
                if batch:
                    stats.steps += 1
                    since_checkpoint += 1
                step = int(time.monotonic() - started)
                if step != last_step:
                    last_step = step
                    await self._faults(plan, step, reader)
                settled = plan.quiet_for(step) >= SETTLE_S
                reason = schedule.due(self.clock.now_ms(), self.watch.take())
                if settled and plan.quiet_since != checked_spell:
                    # Each quiet spell, once settled: reconciled, then the books against the
                    # exchange, exactly.
                    checked_spell = plan.quiet_since
                    await self._reconcile(reason or "interval", reader, check=True)
                elif reason is not None:
                    await self._reconcile(reason, reader, check=settled)
                if settled and step >= next_protect:
                    next_protect = step + PROTECT_EVERY_S
                    await self._protection(reader)
                if self._store_down() or since_checkpoint >= cfg.checkpoint_every:
                    since_checkpoint = 0
                    self._checkpoint()
                self.checks.outage_candles += self._store_down() and bool(batch)
                if not stats.rss_baseline_mb and time.monotonic() >= baseline_at:
                    sites.baseline()
                    stats.rss_baseline_mb = rss_mb()
                    stats.ledger_baseline_mb = self.ledger.size_mb()
                if time.monotonic() >= next_status:
                    next_status += STATUS_EVERY_S
                    self._status(started, plan)
                if self.progress is not None:
                    self.progress(time.monotonic() - started, cfg.duration_s, stats)
        finally:
            pump.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await pump
            plan.stop(step)
            await self._send_faults()
            self._sync_outage(False)
            self._step_clock(0)
            if self._store_down():
                self._checkpoint()
        stats.episodes = plan.episodes
        stats.faults_fired.update(await self._admin(self.admin.fired(), "faults fired") or {})
        stats.interrupted = self.stop.is_set()
        stats.duration_s = cfg.duration_s
        stats.traded_s = time.monotonic() - started
        stats.wall.sim_rss_end_mb = self._sim_rss()
        stats.memory_sites = sites.growth()

    async def _faults(self, plan: WallPlan, step: int, reader: VenueReader) -> None:
        """The plan's second: episodes begin and end, and the harness makes its own."""
        plan.tick(step)
        await self._send_faults()
        if plan.drop_due(step):
            closed = await self._admin(self.admin.drop_websockets(), "dropping websockets")
            self.stats.wall.ws_drops += closed or 0
        self._sync_outage(plan.store_down(step), plan.active_kind() == DB_FLAP)
        self._step_clock(plan.clock_offset_ms())
        if plan.take_due() == RESTART:
            await self._restart(reader)

    async def _send_faults(self) -> None:
        for kind, params in self.pending.take():
            if not kind:
                await self._admin(self.admin.clear_faults(), "clearing faults")
            elif kind != WS_DROP:
                await self._admin(self.admin.add_fault(kind, params), f"fault {kind}")

    async def _admin(self, work: Any, what: str) -> Any:
        """A call to the simulator's admin API: a failure is the harness's, noted, not a
        crash of Rampart's."""
        try:
            return await work
        except Exception as exc:
            self.stats.wall.admin_errors.append(f"{what}: {type(exc).__name__}: {exc}")
            return None

    async def _protection(self, reader: VenueReader) -> None:
        try:
            states = await reader.states()
        except Exception:  # a read the exchange failed is no finding about the books
            self.stats.wall.protection_reads_failed += 1
            return
        self.stats.protection.check(self.engine, states)

    # -- the harness's faults ---------------------------------------------------------------

    def _sync_outage(self, down: bool, flapping: bool = False) -> None:
        if self.outage is None or self.outage.held == down:
            return
        if down:
            self.checks.outages += 1
            self.stats.dirty.store_flaps += flapping
            self.outage.start()
        else:
            self.outage.stop()

    def _step_clock(self, offset_ms: int) -> None:
        jump = self._engine_clock().step_to(offset_ms)
        self.stats.dirty.clock_steps_forward += jump > 0
        self.stats.dirty.clock_steps_back += jump < 0

    def _flush(self, checkpoint: dict[str, Any] | None = None) -> bool:  # type: ignore[override]
        """Write what is buffered (and the checkpoint); whether the store took it. A write
        refused while the store is down keeps every row buffered and halts entries until one
        lands, as the service's session does."""
        writer = getattr(self, "writer", None)
        if writer is None:
            return True
        try:
            saved = None if checkpoint is None else ("soak", self.clock.now_ms(), checkpoint)
            writer.flush(saved)
            self.stats.repairs_stored = writer.stats.rows.get("reconciliation_repairs", 0)
        except StoreError as exc:
            if self.outage is not None and self.outage.held:
                self.checks.refused_writes += 1
                self.engine.store_down = True
                return False
            self.stats.crashes.append(f"store flush failed: {exc}")
            writer.discard()
            return False
        if self._store_down():
            self.engine.store_down = False
            self.store_watch.verify_store(self.db, "after a database outage")
        return True

    def _checkpoint(self) -> None:
        snapshot = self.engine.snapshot()
        if not self._flush(snapshot):
            return
        self.saved = json.dumps(snapshot)
        self.ledger.mark()
        self.saved_published = self.store_watch.published.copy()

    async def _restart(self, reader: VenueReader) -> None:
        """A crash and a restart: what was not saved is gone; engine and venue come back from
        the last checkpoint (the network clients are reused: they hold no trading state), the
        order streams open again and the start's reconciliation finds what happened since."""
        if self.saved is None:
            return
        self.stats.restarts += 1
        self.stats.violations += self.engine.violations
        writer = getattr(self, "writer", None)
        if writer is not None:
            writer.discard()
        self.ledger.rollback()
        self.store_watch.published = self.saved_published.copy()
        old = self.venue
        with contextlib.suppress(Exception):
            await old.stop_order_stream()
        self.venue = await self._venue(old.clients, old.public)
        self.engine = await self._engine(json.loads(self.saved), self.history.in_order())
        await self._streams()
        await self._reconcile("start", reader, check=False)

    # -- saying how it goes -----------------------------------------------------------------

    def _sim_rss(self) -> float:
        try:
            return resident_mb(self.sim.pid)
        except Exception:
            return 0.0

    def _status(self, started: float, plan: WallPlan) -> None:
        s = self.stats
        line = (
            f"{time.strftime('%Y-%m-%d %H:%M:%S')} {(time.monotonic() - started) / 3600:.2f} h: "
            f"{s.candles} candles, {self.ledger.orders_registered} orders, "
            f"{self.ledger.fills_booked} fills, {sum(plan.episodes.values())} fault episodes, "
            f"{s.restarts} restarts, checks {s.checks_passed}/{s.checks}, "
            f"{len(s.crashes)} crashes, RSS {rss_mb():.1f} MB\n"
        )
        path = Path(self.cfg.out_dir) / "wall-progress.log"
        with path.open("a", encoding="utf-8") as out:
            out.write(line)


async def run_wall_soak(
    settings: Any,
    config: Any,
    sim: SimulatorProcess,
    progress: Callable[[float, float, RemoteStats], None] | None = None,
) -> WallStats:
    soak = WallSoak(settings, config, sim, progress)
    try:
        return await soak.run()  # type: ignore[return-value]
    finally:
        await soak.admin.close()


__all__ = ["WallSoak", "WallStats", "run_wall_soak"]

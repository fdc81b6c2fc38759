"""The soak: the whole engine against the in-process exchange simulator on simulated time.

Each step releases one candle of market data on the simulator, moves the SimClock to it, lets
the exchange feed (ccxt, the simulator's klines) deliver the closed candles and the engine act
on them through the ccxt venue, reconciles when due (start, after a reconnect, on an
interval), and switches seeded fault episodes on and off. A ``restart`` episode throws the
engine and venue away and builds them again from the last checkpoint, as a crashed process
restarts: reconciliation then has to find what happened since. The harness's own faults (a
reconciliation race, a position closed by hand while the engine is stopped, a database outage)
are in :mod:`rampart_testkit.soak.faults`. In quiet spells the books are checked against the
simulator's own state, exactly; every step every position's stop-loss is looked for on the
exchange. Simulated time never runs faster than ``speed`` × wall time.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import signal
import time
from collections import Counter
from typing import Any

from rampart.clock import SimClock
from rampart.market.ccxt_feed import CcxtFeed
from rampart.market.second_reading import admit_checked
from rampart.trading.reconcile.reconciler import ReconcileReport, ReconcileSchedule
from rampart.wiring.quarantine import second_reading_of
from rampart_testkit.simulator.runner import SimulatorHandle, serve
from rampart_testkit.soak import build, dirty, faults, verify
from rampart_testkit.soak.chaos import DB_FLAP, HAND_CLOSE, RECONCILE_RACE, RESTART, FaultPlan
from rampart_testkit.soak.config import SoakConfig
from rampart_testkit.soak.memsites import SiteTracer
from rampart_testkit.soak.soak_state import SoakState
from rampart_testkit.soak.stats import SoakStats, data_mb, resident_mb, rss_mb
from rampart_testkit.soak.stepping import (
    Progress,
    StepRun,
    count_reconciliation,
    reconciliation_differences,
    score,
)
from rampart_testkit.soak.stop_budget import StopBudget, bounded_once_stopped

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
STOPPED_FINISH_S = 3.5
"""What the final checks may take once the run is told to stop, counted from the signal: with
the clients closed by :data:`STOPPED_CLOSED_BY_S` and the report's writing after them, the run
ends within 10 s of a SIGTERM even when starved of CPU (at 10x oversubscription, on a machine
busy with other work besides, everything it does takes ten times as long or more)."""
STOPPED_CLOSED_BY_S = 5.0
"""By when, counted from the signal, closing the feed and the venue's clients is given up."""


class Soak(SoakState):
    venue: build.TimedVenue
    feed: CcxtFeed
    sim: SimulatorHandle

    # -- running ------------------------------------------------------------------------------

    async def run(self) -> SoakStats:
        """The soak; a SIGINT or SIGTERM (from the start of its setup on) ends it at the next
        candle, with bounded final checks, and the stats say it was stopped."""
        self.stop = asyncio.Event()
        self.budget = StopBudget(self.stop)
        loop = asyncio.get_running_loop()
        for sig in STOP_SIGNALS:
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.add_signal_handler(sig, self.budget.on_signal)
        try:
            return await self._run()
        finally:
            for sig in STOP_SIGNALS:
                with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                    loop.remove_signal_handler(sig)

    async def _run(self) -> SoakStats:
        cfg = self.cfg
        self.sites = SiteTracer(cfg.memory_sites)
        self.stats.rss_start_mb = rss_mb()
        started = time.perf_counter()
        async with serve(
            build.exchange(cfg),
            fault_seed=cfg.fault_seed if cfg.fault_seed is not None else cfg.seed,
        ) as sim:
            self.sim = sim
            await sim.advance(cfg.warmup_candles + 2)
            self.clock = SimClock(sim.exchange.now_ms)
            self.engine_clock = dirty.StepClock(self.clock)
            """What the engine and its venue read: the soak's clock, stepped by clock_step."""
            clients = build.open_accounts(cfg, sim)
            public = build.client(cfg, sim, None, None)
            self.bus.subscribe(self.book)
            self.bus.subscribe(self._on_event)
            self.bus.subscribe(self.faults)
            self.bus.subscribe(self.suspects)
            self.venue = await build.venue(
                cfg,
                clients,
                public,
                self.engine_clock,
                self.watch,
                self.stats.order_latency,
                cfg.seed,
            )
            await self._new_engine(None)
            self.feed = build.feed(cfg, sim, self.clock, self.stale, self.watch)
            self.writer = self._store()
            try:
                await self._loop()
                await self._finish_in_time()
                self._tally()
                self._measure_end()
            finally:
                if self.outage is not None:
                    self.outage.stop()
                self._flush()
                await bounded_once_stopped(
                    self.stop,
                    self._close(),
                    self.budget.left_s(STOPPED_CLOSED_BY_S),
                    "closing the clients",
                )
        self.stats.wall_s = time.perf_counter() - started
        return self.stats

    async def _new_engine(self, snapshot: dict[str, Any] | None) -> None:
        self.engine = await build.engine(
            self.cfg,
            self.venue,
            self.engine_clock,
            self.bus,
            self.stats.signal_latency,
            snapshot=snapshot,
            history=self.history.in_order(),
        )
        self.engine.stale_symbols = self.stale  # the feed keeps this set up to date
        self.engine.suspect_symbols = self.prices.suspect  # the guard keeps this one

    async def _restart(self, by_hand: bool = False) -> None:
        """A crash and a restart: what was not saved is gone; engine and venue come back from
        the last checkpoint (the network clients are reused: they hold no trading state).
        ``by_hand``: while it is stopped, a person closes a position on the exchange."""
        if self.saved is None:
            if by_hand:
                self.checks.hand_skipped += 1
            return
        self.stats.restarts += 1
        self.stats.violations += self.engine.violations
        if self.writer is not None:
            self.writer.discard()
        self.book.restore(self.saved_book)
        self.faults.published = self.saved_published.copy()
        close = None
        if by_hand:
            serial = self.checks.hand_closes + self.checks.hand_skipped
            close = await self._guarded(
                faults.close_by_hand(self.sim, self.engine, self.picks, serial), "hand close"
            )
            if close is None:
                self.checks.hand_skipped += 1
            else:
                self.hand_trades |= close.bought_trades
                self.checks.hand_buy_trades = len(self.hand_trades)
        old = self.venue
        # The process died, and its connections with it. Kept open, a pooled connection
        # holds the context it was opened in (its reader callback's), and with it whatever
        # the venue or a reconciliation had set there, reaching back to the old engine: the
        # 24-hour soak kept 4 of 6 replaced engines alive that way. The clients (no trading
        # state) are opened again for the new venue.
        await old.aclose()
        clients, public = old.clients, old.public
        for client in (public, *clients.values()):
            client.open()
        # Nothing of the dead process is left when the new one starts: a restarted process
        # builds its engine in memory the old one gave back, not beside an engine still
        # alive. Kept until the new engine replaced it, the soak held two engines (and
        # venues) at every restart, the new one's objects spread over pools the old one's
        # filled, which the process measured kept as holes when the old one went.
        del self.engine, self.venue, old
        gc.collect()
        self.venue = await build.venue(
            self.cfg,
            clients,
            public,
            self.engine_clock,
            self.watch,
            self.stats.order_latency,
            self.cfg.seed + self.stats.restarts,
        )
        await self._new_engine(json.loads(self.saved))
        if close is None:
            await self._reconcile("start", quiet=True)
            return
        self.faults.watch_sends(self.venue, {(close.account_id, close.symbol)})
        try:
            await self._reconcile("start", quiet=True)
        finally:
            self.faults.unwatch(self.venue)
        await self.sim.idle()
        faults.judge_hand_close(close, self.engine, self.sim.exchange, self.faults, self.checks)

    async def _race(self) -> None:
        """An interval reconciliation during which protective fills land on the exchange
        inside some accounts' balance reads."""
        race = faults.ReconcileRace.pick(self.engine, self.sim.exchange, self.picks)
        if race is None:
            return
        race.arm(self.venue)
        try:
            report = await self._reconcile("interval", quiet=False)
        finally:
            race.disarm(self.venue)
        race.judge(report, self.checks)

    async def _step(self, warm: bool) -> bool:
        await self.sim.advance(1)
        self.clock.set(max(self.clock.now_ms(), self.sim.exchange.now_ms))
        candles, ok = await self.feed.poll_once()
        self.suspects.take(self.sim.faults.take_corrupted())
        for fed in candles:
            # As the session does: only what the guard lets count reaches the engine (and the
            # history a restarted engine warms on); the watch judges what the engine works on.
            # With the exchange's ticker as the second reading, as the service has it.
            admitted = await admit_checked(self.prices, second_reading_of(self.venue), fed)
            for candle in admitted:
                self.history.add(candle)
                self.suspects.before(candle)
                if warm and candle.close_ts < self.sim.exchange.now_ms - self.tf_ms:
                    self.engine.warm(candle)
                else:
                    await self._guarded(self.engine.on_candle(candle), "engine")
                    self.stats.candles += 1
                self.suspects.after()
        self.stats.dirty.quarantined = dict(self.prices.counts)
        return ok

    def _step_clock(self, offset_ms: int) -> None:
        """Jump the engine's clock to the fault plan's offset (a wall-clock step)."""
        jump = self.engine_clock.step_to(offset_ms)
        self.stats.dirty.clock_steps_forward += jump > 0
        self.stats.dirty.clock_steps_back += jump < 0

    async def _loop(self) -> None:
        cfg = self.cfg
        plan = FaultPlan(
            self.sim.faults,
            cfg.faults,
            self.rng,
            client_timeout_ms=cfg.client_timeout_ms,
            recv_window_ms=cfg.recv_window_ms,
        )
        schedule = ReconcileSchedule(cfg.reconcile_every_s)
        feed_ok = True
        run = StepRun(cfg, self.tf_ms, self.stats, self.progress, self._sim_baseline)
        for step in range(run.total):
            if self.stop.is_set():
                self.stats.interrupted = True
                break
            ok = await self._step(warm=step == 0)
            recovered, feed_ok = ok and not feed_ok, ok
            reason = schedule.due(self.clock.now_ms(), self.watch.take() or recovered)
            if reason is not None:
                report = await self._reconcile(reason, plan.quiet)
                if plan.quiet_for(step) >= cfg.settle_candles:
                    await self._check(report)
            self.stats.protection.check(self.engine, self.sim.exchange)
            plan.tick(step)
            self._sync_outage(plan.store_down(step), plan.active_kind() == DB_FLAP)
            self._step_clock(plan.clock_offset_ms())
            due = plan.take_due()
            if due in (RESTART, HAND_CLOSE):
                await self._restart(by_hand=due == HAND_CLOSE)
            elif due == RECONCILE_RACE:
                await self._race()
            if due not in (RESTART, HAND_CLOSE) and (
                self._store_down() or (step + 1) % cfg.checkpoint_every == 0
            ):
                # While the store is down a write is tried on every candle: the first to land
                # lifts the halt on entries.
                self._checkpoint()
            self.checks.outage_candles += self._store_down()
            await run.done(step)
        plan.stop(run.total)
        self._sync_outage(False)
        self._step_clock(0)
        if self._store_down():
            self._checkpoint()
        self.stats.episodes = plan.episodes

    def _sim_baseline(self) -> None:
        self.stats.sim_baseline_mb = data_mb(self.sim.context)
        self.stats.harness_baseline_mb = self._record_mb()
        self.sites.baseline()

    async def _reconcile(self, reason: str, quiet: bool) -> ReconcileReport | None:
        run = self.reconciler.run(self.engine, reason=reason)
        report: ReconcileReport | None = await self._guarded(run, "reconcile")
        count_reconciliation(self.stats, reason, report, quiet)
        return report

    def _differences(self, report: ReconcileReport | None) -> list[str]:
        """The books against the exchange, and the reconciliation's own verdict."""
        held = {t.client_id for t in self.venue.tracked() if t.local}
        out = verify.books_differences(self.engine, self.sim.exchange, held)
        return out + reconciliation_differences(report)

    async def _check(self, report: ReconcileReport | None) -> None:
        """After a reconciliation in a quiet spell: the books must equal the exchange, and the
        reconciliation must have said so itself. Deferred while an order is unconfirmed (it
        cannot be settled before the exchange's receive window has passed)."""
        await self.sim.idle()
        if verify.unsettled(self.engine):
            self.stats.checks_deferred += 1
            return
        score(self.stats, self._differences(report))

    async def _close(self) -> None:
        await asyncio.gather(self.feed.close(), self.venue.aclose())

    def _measure_end(self) -> None:
        """The store checked and the memory measured at the end. A run told to stop fails its
        length anyway: its store is not read back, and its memory is read without the full
        collections and the walk of the simulator's data (seconds on a starved machine)."""
        if self.stop.is_set():
            self._flush()
            self.stats.rss_end_mb = resident_mb()
            return
        if self.writer is not None and self._flush():
            self.faults.verify_store(self.db, "at the end")
        self.stats.sim_end_mb = data_mb(self.sim.context)
        self.stats.harness_end_mb = self._record_mb()
        self.stats.rss_end_mb = rss_mb()
        self.stats.memory_sites = self.sites.growth()

    async def _finish_in_time(self) -> None:
        """:meth:`_finish`; after a stop signal within :data:`STOPPED_FINISH_S` of it, so that
        the run ends within 10 s with the report of what ran. Checks cut short are said in the
        report, and fail it."""
        if not self.stop.is_set():
            await self._finish()
            return
        try:
            async with asyncio.timeout(self.budget.left_s(STOPPED_FINISH_S)):
                await self._finish()
        except TimeoutError:
            self.stats.crashes.append(
                f"the final checks were cut short after {STOPPED_FINISH_S:g} s: the run was "
                "told to stop, so its lost and duplicated counts are incomplete"
            )

    async def _finish(self) -> None:
        """No more faults: let unconfirmed orders settle (the exchange's receive window runs
        on real time), reconcile, and compare everything one last time."""
        self.sim.faults.clear()
        deadline = time.perf_counter() + self.cfg.final_settle_wall_s
        while True:
            await self.sim.idle()
            await self._step(warm=False)
            if not verify.unsettled(self.engine) or time.perf_counter() > deadline:
                break
            if self.stop.is_set():
                break  # told to stop: what is unconfirmed is counted as such
            await asyncio.sleep(0.2)
        report = await self._reconcile("final", True)
        await self.sim.idle()
        self.stats.final_differences = self._differences(report)
        score(self.stats, self.stats.final_differences)
        engine, exchange = self.engine, self.sim.exchange
        self.stats.protection.check(engine, exchange)
        self.stats.accounting = verify.account(engine, exchange, self.book, self.hand_trades)

    def _tally(self) -> None:
        """The run's counts, taken whether or not its final checks were done."""
        self.stats.violations += self.engine.violations
        self.stats.faults_fired = Counter(self.sim.faults.fired)
        self.stats.reconnects = self.watch.reconnects
        self.stats.fills = self.book.fills_booked
        self.stats.orders = self.book.orders_registered
        self.stats.sim_s = self.stats.steps * self.tf_ms / 1000


async def run_soak(config: SoakConfig, progress: Progress | None = None) -> SoakStats:
    return await Soak(config, progress).run()

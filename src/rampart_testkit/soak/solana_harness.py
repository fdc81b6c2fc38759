"""The Solana soak: the whole engine trading swaps through the Solana venue against the
in-process stand-in (RPC nodes a and b, Jupiter, bags.fm) on a SimClock.

Each step makes one candle per market from a seeded walk. Its prices before the close are
price updates (the stand-in's pools are set to each, then ``engine.on_price``: the position
monitor holds stop-loss and take-profit on a DEX), its close moves the pools and is handed to
``engine.on_candle`` (which polls the venue first). Seeded fault episodes switch the
stand-in's faults on and off; ``restart`` crashes the process right after a swap is sent and
rebuilds engine and venue from the last checkpoint over the same journal; ``transfer`` moves a
position's tokens out of its wallet. In quiet spells the books are compared with the chain;
swaps are verified against the chain's own transactions (see :mod:`.solana_verify`).

The stand-in's slot timer runs on wall time (``slot_ms``); the venue's confirmation waits move
the chain on a slot instead of sleeping, and the chain's block times follow the SimClock.
"""

from __future__ import annotations

import bisect
import json
import random
import time
from collections import deque
from collections.abc import Awaitable
from decimal import Decimal
from typing import Any

import httpx
import structlog

from rampart.clock import SimClock
from rampart.domain.candles import timeframe_ms
from rampart.domain.events import Event, ReconciliationRepaired
from rampart.domain.orders import OrderRole, OrderType
from rampart.trading.bus import EventBus
from rampart.trading.engine import Engine
from rampart.trading.reconcile.context import ReconcileReport
from rampart.trading.reconcile.reconciler import Reconciler
from rampart.trading.reconcile.schedule import ReconcileSchedule
from rampart_testkit.soak import build as soak_build
from rampart_testkit.soak import solana_build as build
from rampart_testkit.soak import solana_dirty
from rampart_testkit.soak import solana_faults as faults
from rampart_testkit.soak import solana_verify as verify
from rampart_testkit.soak.config import SoakConfig
from rampart_testkit.soak.dirty import StepClock
from rampart_testkit.soak.solana_stats import SolanaStats
from rampart_testkit.soak.stats import rss_mb
from rampart_testkit.soak.stepping import (
    Progress,
    RecentCandles,
    StepRun,
    count_reconciliation,
    reconciliation_differences,
    record_crash,
    score,
)
from rampart_testkit.solana_sim import SolanaSimHandle, start_solana_sim

log = structlog.get_logger("rampart_testkit.soak.solana")

START_MS = 1_700_000_040_000
"""A minute boundary: the SimClock's start."""
TIME_MARKS = 4096
FINAL_STEPS = 60


class SolanaSoak:
    engine: Engine
    venue: build.TimedSolanaVenue
    sim: SolanaSimHandle

    def __init__(self, config: SoakConfig, progress: Progress | None = None) -> None:
        self.cfg = config
        self.progress = progress
        self.stats = SolanaStats()
        self.rng = random.Random(config.seed)
        self.picks = random.Random(config.seed + 3)
        self.tf_ms = timeframe_ms(config.timeframe)
        self.clock = SimClock(START_MS)
        self.engine_clock = StepClock(self.clock)
        """What the engine and its venue read: the soak's clock, stepped by clock_step."""
        self.bus = EventBus()
        self.book = verify.FillLedger()
        self.saved_book = self.book.copy()
        self.saved: str | None = None
        self.journal = build.SoakJournal()
        self.observer = build.SoakObserver()
        self.reconciler = Reconciler(unknown_grace_s=30.0)
        self.history = RecentCandles()
        self.wallets = build.keypairs(config)
        self.pubkeys = {a: str(kp.pubkey()) for a, kp in self.wallets.items()}
        self.walk = build.MarketWalk(build.SYMBOLS, config.seed, self.tf_ms)
        self.marks: deque[tuple[int, int]] = deque(maxlen=TIME_MARKS)
        self.crashed = False
        self.off_primary = False
        self.outage: tuple[int, int] | None = None
        """(failovers before, step it ended) of the last node outage, until judged."""

    # -- events and time ----------------------------------------------------------------------

    def _on_event(self, event: Event) -> None:
        if isinstance(event, ReconciliationRepaired):
            self.stats.repairs[event.kind] += 1

    def _set_time(self, ms: int) -> None:
        self.clock.set(max(self.clock.now_ms(), ms))
        self.marks.append((self.sim.chain.slot, self.clock.now_ms()))

    def _block_time(self, slot: int) -> int:
        """The SimClock's second when ``slot`` was made (the chain's block time)."""
        marks = self.marks
        if not marks:
            return START_MS // 1000
        i = bisect.bisect_right(marks, (slot, 1 << 62)) - 1
        return marks[max(i, 0)][1] // 1000

    # -- running ------------------------------------------------------------------------------

    async def run(self) -> SolanaStats:
        cfg = self.cfg
        self.stats.rss_start_mb = rss_mb()
        started = time.perf_counter()
        prices = {s: build.START_PRICES[s] for s in build.SYMBOLS}
        async with (
            start_solana_sim(slot_ms=cfg.slot_ms, markets=prices, seed=cfg.seed) as sim,
            httpx.AsyncClient() as http,
        ):
            self.sim, self.http = sim, http
            quoted = any(k in cfg.faults for k in faults.QUOTED)
            self.prices = solana_dirty.SolanaPrices(sim, self.stats.dirty, self._symbols_of, quoted)
            self.bus.subscribe(self.prices.watch)
            sim.chain.block_time = self._block_time  # type: ignore[method-assign]
            build.fund(cfg, sim, self.wallets)
            self.bus.subscribe(self.book)
            self.bus.subscribe(self._on_event)
            self.venue = await self._new_venue()
            await self._new_engine(None)
            self._warm()
            await self._reconcile("start", quiet=True)
            try:
                await self._loop()
                await self._finish()
            finally:
                await self.venue.aclose()
            self.stats.rss_end_mb = rss_mb()
            self.stats.slots = sim.chain.slot
        self.stats.wall_s = time.perf_counter() - started
        return self.stats

    async def _new_venue(self) -> build.TimedSolanaVenue:
        return await build.venue(
            self.sim,
            self.http,
            self.engine_clock,
            self.journal,
            self.observer,
            self.wallets,
            self.stats.order_latency,
        )

    async def _new_engine(self, snapshot: dict[str, Any] | None) -> None:
        self.engine = await soak_build.engine(
            self.cfg,
            self.venue,
            self.engine_clock,
            self.bus,
            self.stats.signal_latency,
            snapshot=snapshot,
            history=self.history.in_order(),
            accounts=build.accounts(self.cfg),
            taker_fee=build.TAKER_FEE,
        )
        self.engine.suspect_symbols = self.prices.guard.suspect  # the guard keeps this one

    def _symbols_of(self, account_id: str) -> tuple[str, ...]:
        return self.engine.accounts[account_id].spec.symbols

    def _warm(self) -> None:
        start = self.clock.now_ms() - self.cfg.warmup_candles * self.tf_ms
        for i in range(self.cfg.warmup_candles):
            for symbol in build.SYMBOLS:
                candle, _ = self.walk.candle(symbol, start + i * self.tf_ms)
                for admitted in self.prices.admit(candle):  # as the session warms
                    self.history.add(admitted)
                    self.engine.warm(admitted)
                self.sim.set_price(symbol, str(candle.close))

    async def _call(self, work: Awaitable[Any], what: str) -> Any:
        """Engine work: a planned crash ends it (the process is gone); anything else escaping
        is a critical failure, recorded, not fatal to the soak."""
        try:
            return await work
        except faults.Crash:
            self.crashed = True
            return None
        except Exception as exc:
            record_crash(self.stats, log, what, exc)
            return None

    async def _step(self, step: int) -> None:
        ts = START_MS + step * self.tf_ms
        candles = {s: self.walk.candle(s, ts) for s in build.SYMBOLS}
        if step % 5 == 0 or self.outage is not None or self.plan.active_kind() in ("down", "lag"):
            await self._call(self.venue.rpc.probe(), "probe")
        prices = self.prices
        for k in range(build.TICKS - 1):
            self._set_time(ts + (k + 1) * self.tf_ms // build.TICKS)
            for symbol, (_, ticks) in candles.items():
                if self.crashed:
                    return
                true = Decimal(str(ticks[k]))
                self.sim.set_price(symbol, true)
                # As the session does: the feed's read, through the guard, then the engine.
                price = await self._call(prices.read(self.venue, symbol, true, ts), "feed")
                if price is None or not prices.tick(symbol, price, ts, self.clock.now_ms()):
                    continue
                self.book.exits.clear()
                await self._call(self.engine.on_price(symbol, price), "engine")
                prices.watch.after()
                if not self.crashed:
                    self.stats.monitor.crossing(self.engine, symbol, price, self.book)
        self._set_time(ts + self.tf_ms)
        for symbol, (walked, _) in candles.items():
            if self.crashed:
                return
            self.sim.set_price(symbol, str(walked.close))
            await self._call(
                prices.read(self.venue, symbol, Decimal(str(walked.close)), ts), "feed"
            )
            candle = prices.candle(symbol, walked)
            for admitted in prices.admit(candle) if candle is not None else ():
                self.history.add(admitted)
                prices.before(admitted)
                await self._call(self.engine.on_candle(admitted), "engine")
                prices.watch.after()
                self.stats.candles += 1
        prices.take_served()

    async def _loop(self) -> None:
        cfg = self.cfg
        self.plan = faults.SolanaFaultPlan(self.sim, cfg.faults, self.rng)
        schedule = ReconcileSchedule(cfg.reconcile_every_s)
        schedule.due(self.clock.now_ms())  # the start's reconciliation is done
        run = StepRun(cfg, self.tf_ms, self.stats, self.progress)
        for step in range(run.total):
            await self._step(step)
            if self.crashed:
                await self._restart()
            ended = self.plan.tick(step)
            if ended == "down":
                self.stats.node_outages += 1
            self._step_clock(self.plan.clock_offset_ms())
            reason = schedule.due(self.clock.now_ms(), ended is not None)
            if reason is None and self.plan.quiet_for(step) == cfg.settle_candles:
                reason = "interval"
            if reason is not None:
                report = await self._reconcile(reason, self.plan.quiet)
                if self.plan.quiet_for(step) >= cfg.settle_candles:
                    self._check(report)
            self._judge_failover(step, ended)
            self.stats.monitor.check(self.engine, self.sim, self.pubkeys)
            due = self.plan.take_due()
            if due == faults.RESTART:
                self._arm_crash()
            elif due == faults.TRANSFER:
                await self._transfer()
            if self.crashed:
                await self._restart()
            if (step + 1) % cfg.checkpoint_every == 0 and due != faults.RESTART:
                self._checkpoint()
            await run.done(step)
        if self.venue_crash_armed():
            self._disarm_crash()
        self.plan.stop(run.total)
        self._step_clock(0)
        self.stats.episodes = self.plan.episodes

    def _step_clock(self, offset_ms: int) -> None:
        """Jump the engine's clock to the fault plan's offset (a wall-clock step)."""
        jump = self.engine_clock.step_to(offset_ms)
        self.stats.dirty.clock_steps_forward += jump > 0
        self.stats.dirty.clock_steps_back += jump < 0

    # -- restart ------------------------------------------------------------------------------

    def _arm_crash(self) -> None:
        """The next swap sent crashes the process right after the node took it."""
        if self.saved is None:
            return
        rpc = self.venue.rpc
        send = rpc.send_transaction

        async def crashing(tx_base64: str) -> str:
            await send(tx_base64)
            self.stats.crashes_after_send += 1
            raise faults.Crash

        rpc.send_transaction = crashing  # type: ignore[method-assign]

    def venue_crash_armed(self) -> bool:
        return "send_transaction" in vars(self.venue.rpc)

    def _disarm_crash(self) -> None:
        vars(self.venue.rpc).pop("send_transaction", None)

    async def _restart(self) -> None:
        """The process died: what was not checkpointed is gone. Engine and venue come back
        from the last checkpoint over the same swap journal; the venue follows the swaps the
        books hold open, and the start's reconciliation finds the rest."""
        self.crashed = False
        if self.saved is None:
            return
        self.stats.restarts += 1
        self.stats.violations += self.engine.violations
        self.book.restore(self.saved_book)
        await self.venue.aclose()
        self.venue = await self._new_venue()
        await self._new_engine(json.loads(self.saved))
        for acct in self.engine.accounts.values():
            for order in list(acct.orders.values()):
                if order.type is OrderType.MARKET and order.is_open:
                    self.venue.follow(order)
        await self._reconcile("start", quiet=True)

    def _checkpoint(self) -> None:
        snapshot = self.engine.snapshot()
        self.saved = json.dumps(snapshot)
        # Swaps final before this checkpoint are verified and forgotten: no restart goes back
        # further than here.
        self.stats.harvested += verify.harvest(
            self.sim, self.journal, self.book, self.engine, self.stats.swaps
        )
        self.saved_book = self.book.copy()

    # -- the manual transfer and the node outage -----------------------------------------------

    async def _transfer(self) -> None:
        picked = faults.pick_transfer(self.engine, self.picks)
        if picked is None:
            return
        account_id, symbol = picked
        moved = faults.transfer_out(
            self.sim, self.engine, self.pubkeys[account_id], account_id, symbol
        )
        if moved is None:
            return
        self.stats.transfers += 1
        before = len(self.book.external)
        await self._reconcile("interval", quiet=False)
        where = f"{account_id} {symbol} ({moved.qty} moved out)"
        acct = self.engine.accounts[account_id]
        if (account_id, symbol) in self.book.external[before:]:
            self.stats.transfers_external += 1
        else:
            self.stats.transfer_failures.append(f"{where}: no external close booked")
        if symbol in acct.ledger.positions:
            self.stats.transfer_failures.append(f"{where}: still a position in the books")
        legs = [
            o
            for o in acct.orders.values()
            if o.symbol == symbol and o.role in (OrderRole.STOP_LOSS, OrderRole.TAKE_PROFIT)
        ]
        if legs:
            self.stats.transfer_failures.append(f"{where}: protective legs still held")

    def _judge_failover(self, step: int, ended: str | None) -> None:
        """Node a down: the venue moved to node b during it and back to a after it."""
        rpc = self.venue.rpc
        primary = rpc.endpoints[0].name
        if self.plan.active_kind() == "down" and self.outage is None:
            # Already on b (a lag of node a not yet probed away): no move is due.
            self.off_primary = rpc.active.name != primary
            self.outage = (len(self.observer.failovers), -1)
        if ended == "down" and self.outage is not None:
            self.outage = (self.outage[0], step)
        if self.outage is None or self.outage[1] < 0:
            return
        first, end = self.outage
        if rpc.active.name == primary:
            moved = self.off_primary or any(
                f[0] == primary for f in self.observer.failovers[first:]
            )
            self.stats.failed_over += moved
            self.stats.failed_back += 1
            if not moved:
                self.stats.failover_failures.append(f"step {end}: node a down, no fail-over")
            self.outage = None
        elif step - end > 3:
            self.stats.failover_failures.append(f"step {end}: node a back, no fail-back")
            self.outage = None

    # -- reconciliation and checks --------------------------------------------------------------

    async def _reconcile(self, reason: str, quiet: bool) -> ReconcileReport | None:
        report: ReconcileReport | None = await self._call(
            self.reconciler.run(self.engine, reason=reason), "reconcile"
        )
        count_reconciliation(self.stats, reason, report, quiet)
        return report

    def _unsettled(self) -> bool:
        return any(
            o.type is OrderType.MARKET and o.is_open
            for a in self.engine.accounts.values()
            for o in a.orders.values()
        )

    def _differences(self, report: ReconcileReport | None) -> list[str]:
        out = verify.books_differences(self.engine, self.sim, self.pubkeys)
        return out + reconciliation_differences(report)

    def _check(self, report: ReconcileReport | None) -> None:
        if self._unsettled():
            self.stats.checks_deferred += 1
            return
        score(self.stats, self._differences(report))

    async def _finish(self) -> None:
        """No more faults: let swaps in flight settle, reconcile, compare one last time, and
        verify every swap the chain holds."""
        self.sim.clear_faults()
        for i in range(FINAL_STEPS):
            if not self._unsettled() and i >= 2:
                break
            await self.sim.advance(SETTLE_SLOTS)
            await self._step(self.stats.steps + i)
            if self.crashed:
                await self._restart()
        report = await self._reconcile("final", True)
        self.stats.final_differences = self._differences(report)
        score(self.stats, self.stats.final_differences)
        self.stats.monitor.check(self.engine, self.sim, self.pubkeys)
        self.stats.violations += self.engine.violations
        await self.sim.advance(verify.SETTLED_SLOTS)
        acc = self.stats.swaps
        acc.unresolved_orders = sum(
            1
            for a in self.engine.accounts.values()
            for o in a.orders.values()
            if o.type is OrderType.MARKET and o.is_open
        )
        self.stats.harvested += verify.harvest(
            self.sim, self.journal, self.book, None, acc, final=True
        )
        verify.leftover(self.book, acc)
        self.stats.faults_fired = self.plan.fired
        self.stats.fills = self.book.fills_booked
        self.stats.orders = self.book.orders_registered
        self.stats.swap_outcomes = dict(self.observer.swaps)
        self.stats.rpc_failures = dict(self.observer.rpc)
        self.stats.confirm_latency = self.observer.confirm
        self.stats.sim_s = self.stats.steps * self.tf_ms / 1000


SETTLE_SLOTS = 5


async def run_solana_soak(config: SoakConfig, progress: Progress | None = None) -> SolanaStats:
    return await SolanaSoak(config, progress).run()

"""The scale soak with each worker a real ``rampart worker`` process (``--worker-processes``): a
crash is SIGKILL, a pause SIGSTOP past the lease then SIGCONT, a clean handover
SIGTERM; NATS restarts and PostgreSQL connection drops as in the in-process soak.

**Time.** The harness still drives market time: each step releases one candle on the exchange
simulator and publishes it on the market stream, with the command stream's heartbeat. A worker
process cannot read the harness's liveness clock, so liveness (leases, heartbeats) runs on the
wall clock, and the harness releases a candle every ``ops_step_s`` of wall time (0.25 s, with a
3 s lease renewed every 0.5 s): a run of N candles lasts about N × 0.25 s plus the workers'
start-up, bounded; the waits for the workers to start and for a stopped worker's shards to move
are on conditions (the lease table), bounded so that a broken run fails instead of hanging.

**What is checked.** Lost and duplicated orders and fills: the store against the exchange once
every worker has stopped cleanly (each handed its shards back, checkpointed). Protection: the
engines' own check after every candle (``invariant`` events in the store), and every position's
stop on the exchange at the end. Reconciliation accuracy: at the end a worker of the harness's
own takes every shard over from the store, reconciles it with the exchange and compares its
books with the exchange's, exactly. Order latency, fenced refusals and the shards a woken worker
dropped come from each worker's Prometheus endpoint; memory is each worker process's RSS."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import structlog

from rampart.clock import WallClock
from rampart.domain.shards import FREE
from rampart.observability.scale_metrics import FENCED, SHARDS_HELD
from rampart.store.leases import lease_table
from rampart.trading.reconcile.books import UNSETTLED
from rampart_testkit.soak.scale_checks import protect, reconcile_all, store_against_exchange
from rampart_testkit.soak.scale_faults import (
    CRASH,
    DB_DROP,
    HANDOVER,
    NATS_RESTART,
    PAUSE,
    restart_nats,
    watch_moves,
)
from rampart_testkit.soak.scale_harness import DROP_STEPS, FAN_OUT_EVERY, ScaleSoak
from rampart_testkit.soak.scale_procs import WorkerProcess, add_order_latency
from rampart_testkit.soak.scale_workers import HANG_GUARD_S, SoakWorker
from rampart_testkit.soak.stats import rss_mb
from rampart_testkit.soak.stepping import StepRun

log = structlog.get_logger("rampart_testkit.soak.scale")

LOST = "rampart_shards_lost"


class ProcessScaleSoak(ScaleSoak):
    procs: list[WorkerProcess]

    async def _open(self, sim: Any) -> None:
        await self._connect(sim, WallClock())
        self.procs = []
        self.left: list[WorkerProcess] = []
        self.counts.processes = True
        self.gone: set[str] = set()
        """Workers killed or frozen: a shard taken from one is a takeover."""
        self.table = lease_table(self.db)
        self.steady = False
        self.waking: list[WorkerProcess] = []
        await self._publish()  # the history every worker warms on
        for _ in range(self.scale.workers):
            self._spawn()
        await self._until("every shard held by a running worker", self._all_held)
        self.table = lease_table(self.db)
        self.counting = True

    def _spawn(self) -> WorkerProcess:
        self.serial += 1
        worker = WorkerProcess(f"w{self.serial}", self.data, self.cfg.out_dir)
        self.procs.append(worker)
        self.counts.workers_started += 1
        return worker

    def _now(self) -> int:
        return int(time.time() * 1000)

    def _running(self) -> list[WorkerProcess]:
        return [w for w in self.procs if w.running and not w.paused]

    def _all_held(self) -> bool:
        names = {w.name for w in self._running()}
        now = self._now()
        table = lease_table(self.db)
        return len(table) == self.scale.shards and all(
            h.live(now) and h.owner in names for h in table.values()
        )

    async def _until(self, what: str, done: Any) -> bool:
        deadline = time.monotonic() + HANG_GUARD_S
        while not await asyncio.to_thread(done):
            if time.monotonic() > deadline:
                self.counts.stuck.append(f"still waiting for {what}")
                return False
            await asyncio.sleep(0.1)  # other processes' progress, read from the store
        return True

    # -- the steps ----------------------------------------------------------------------------

    async def _loop(self) -> None:
        cfg = self.cfg
        run = StepRun(cfg, self.tf_ms, self.stats, self.progress, self._baseline)
        plan = self._plan(run.total)
        for step in range(run.total):
            due = plan.due(step)
            await self._inject(due, step)
            await self._candle()
            if step == self.drop_until and self.store.relay is not None:
                self.store.relay.restore()
            await self._look(step)
            if due is not None or self.paused is not None or self.moving or step <= self.drop_until:
                self.quiet_since = step + 1
            quiet = step + 1 - self.quiet_since >= cfg.settle_candles and self.steady
            if quiet and (step + 1) % FAN_OUT_EVERY == 0:
                await self._fan_out()
            self.stats.candles += len(self.last_close)
            await run.done(step)
        self.stats.episodes.update(self.counts.injected)

    async def _candle(self) -> None:
        """One candle released and published; the pace: ``ops_step_s`` of wall time each."""
        await self.sim.advance(1)
        await self._publish()
        await self.sender.heartbeat()
        await asyncio.sleep(self.scale.ops_step_s)

    async def _inject(self, due: str | None, step: int) -> None:
        if due == NATS_RESTART:
            self.counts.injected[NATS_RESTART] += 1
            await restart_nats(self.nats, [self.nc], self.counts)
        elif due == DB_DROP and self.store.relay is not None:
            self.store.relay.cut()
            self.drop_until = step + DROP_STEPS
            self.counts.injected[DB_DROP] += 1
        elif due in (CRASH, PAUSE, HANDOVER):
            victim = self._proc_victim()
            if victim is None or (due == PAUSE and self.paused is not None):
                return
            self.counts.injected[due] += 1
            label = f"{due}-{self.counts.injected[due]}"
            now = self._now()
            table = lease_table(self.db)
            shards = {s for s, h in table.items() if h.owner == victim.name and h.live(now)}
            lease_ms = int(self.scale.lease_s * 1000)
            timings = self.counts.timings
            timings.begin(label, victim.name, shards, table, now, lease_ms, due == HANDOVER)
            victim.scrape()
            if due == HANDOVER:
                victim.terminate()
                self._leaves(victim)
            else:
                self.moving.append((label, shards, step))
                self.gone.add(victim.name)
                if due == CRASH:
                    victim.kill()
                    self._leaves(victim)
                else:
                    victim.freeze()
                    self.paused, self.paused_at = victim, step  # type: ignore[assignment]
                    victim.lost_before = victim.value(LOST)
            if due != PAUSE:
                self._spawn()
                self.counts.replacements += 1

    def _proc_victim(self) -> WorkerProcess | None:
        now = self._now()
        owners = {h.owner for h in lease_table(self.db).values() if h.live(now)}
        held = [w for w in self._running() if w.name in owners]
        return self.picks.choice(held) if held else None

    def _leaves(self, worker: WorkerProcess) -> None:
        """A worker stops: what its metrics said last is counted."""
        add_order_latency(self.stats.order_latency, worker)
        self.counts.fenced_writes += int(worker.value(FENCED, what="write"))
        self.counts.fenced_orders += int(worker.value(FENCED, what="order"))
        self.procs.remove(worker)
        self.left.append(worker)

    async def _look(self, step: int) -> None:
        now = self._now()
        table = await asyncio.to_thread(lease_table, self.db)
        for worker in self._running():
            await asyncio.to_thread(worker.scrape)
        held = {
            w.name: {s for s, h in table.items() if h.owner == w.name and h.live(now)}
            for w in self._running()
        }
        ready = {
            (w.name, s)
            for w in self._running()
            if held[w.name] and w.value(SHARDS_HELD) >= len(held[w.name])
            for s in held[w.name]
        }
        self.counts.timings.watch_ready(table, now, ready)
        # Steady: every running worker holds its share and has finished taking it (a worker
        # taking a shard over holds its lock, and a command other than the kill waits for it).
        share = self.scale.shards // max(1, len(held))
        self.steady = all(len(h) >= share for h in held.values()) and all(
            (w, s) in ready for w, h in held.items() for s in h
        )
        for shard, holder in table.items():
            old = self.table.get(shard)
            if old is None or holder.owner in (FREE, old.owner) or old.owner == FREE:
                continue
            if old.owner in self.gone:
                self.counts.takeovers += 1
            else:
                self.counts.handovers += 1
        self.table = table
        if self.moving:
            names = {w.name for w in self._running()}
            limit = 4 * (self.scale.lease_steps + 2)
            self.moving = watch_moves(self.moving, table, now, names, step, limit, self.counts)
        await self._wake(step)
        self._woken()
        for worker in list(self.procs):
            if not worker.running and not worker.paused:
                self.counts.stuck.append(
                    f"{worker.name} exited by itself ({worker.proc.returncode})"
                )
                self._leaves(worker)

    async def _wake(self, step: int) -> None:
        """SIGCONT a frozen worker once others hold all its shards (or a generous bound has
        passed): it must give them up, not trade them."""
        w: Any = self.paused
        if w is None:
            return
        label = f"pause-{self.counts.injected[PAUSE]}"
        if any(m[0] == label for m in self.moving) and step < self.paused_at + 3 * (
            self.scale.lease_steps + 2
        ):
            return
        w.thaw()
        self.paused = None
        self.gone.discard(w.name)
        self.waking.append(w)

    def _woken(self) -> None:
        """A woken worker counted once its metrics show it dropped the shards taken from it."""
        for w in list(self.waking):
            dropped = int(w.value(LOST) - w.lost_before)
            if dropped > 0:
                self.counts.dropped_on_waking += dropped
                self.counts.woke_and_dropped += 1
                self.waking.remove(w)

    def _baseline(self) -> None:
        for worker in self._running():
            worker.rss_baseline_mb = worker.rss_mb()

    # -- the end ------------------------------------------------------------------------------

    async def _finish(self) -> None:
        cfg = self.cfg
        for _ in range(4 * (self.scale.lease_steps + cfg.settle_candles)):
            settled = self.paused is None and not self.moving and not self.counts.timings.open
            if settled and await asyncio.to_thread(self._all_held):
                break
            await self._candle()
            await self._look(self.stats.steps)
            self.stats.steps += 1
            self.stats.candles += len(self.last_close)
        self.counts.not_moved.extend(m[0] for m in self.moving)
        for woke in self.waking:
            woke.scrape()
        self._woken()
        for worker in self._running():
            if worker.rss_baseline_mb > 0:
                self.counts.timings.worker_rss[worker.name] = (
                    round(worker.rss_baseline_mb, 1),
                    round(worker.rss_mb(), 1),
                )
        for worker in list(self.procs):
            worker.scrape()
            worker.terminate()
        for worker in list(self.procs):
            code = await asyncio.to_thread(worker.wait)
            if code != 0:
                self.stats.crashes.append(f"worker {worker.name} stopped with {code}")
            self._leaves(worker)
        self.stats.rss_end_mb = rss_mb()
        await self.sim.idle()
        # The store against the exchange, before anyone takes a shard again.
        await store_against_exchange(self.stats, self.db, self.sim, cfg.account_ids(), [])
        await self._audit()

    async def _audit(self) -> None:
        """A worker of the harness's own takes every shard over from the store: each shard's
        books, reconciled, must equal the exchange's, and every position have its stop there."""
        auditor = SoakWorker(self.settings, "audit", WallClock())
        await auditor.start()
        try:
            await auditor.wait_until(self._published_to())
            for _ in range(3):
                await auditor.lease_round()
                if len(auditor.traders) == self.scale.shards:
                    break
            if len(auditor.traders) != self.scale.shards:
                self.stats.failures.append("the audit could not take every shard over")
            await reconcile_all(self.stats, self.sim, [auditor], "final", check=True)
            protect(self.stats, self.sim, [auditor])
            self.stats.accounting.unresolved_orders = sum(
                1
                for t in auditor.traders.values()
                for a in t.engine.accounts.values()
                for o in a.orders.values()
                if o.status in UNSETTLED
            )
        finally:
            await auditor.stop_cleanly()

    async def _close(self) -> None:
        self.paused = None  # a process, thawed by its SIGTERM below
        for worker in list(getattr(self, "procs", [])):
            worker.terminate()
            await asyncio.to_thread(worker.wait)
        await super()._close()


__all__ = ["ProcessScaleSoak"]

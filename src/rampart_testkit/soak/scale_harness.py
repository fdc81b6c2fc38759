"""The scale soak: a feed and N ``rampart worker``\\ s (the real Worker, in this
process) against the exchange simulator, one store (SQLite, or PostgreSQL through a relay) and
a NATS server with JetStream the soak starts itself on 127.0.0.1, with worker faults injected
at random (seeded): crash, pause, NATS restart, a PostgreSQL connection drop, a clean handover
mid-candle (:mod:`.scale_faults`).

The harness drives time. Each step releases one candle on the simulator, publishes it on the
market stream as ``rampart feed`` does (with the command stream's heartbeat), moves the
liveness clock every worker reads (leases, heartbeats) on by ``ops_step_s``, waits until each
running worker has handed the candle round its shards (a bounded wait on that condition, never
on wall time), and runs every running worker's lease round. In quiet spells the shards are
reconciled and their books compared with the simulator's, exactly. At the end every shard is
held again, checkpointed, and the store is compared with the exchange (:mod:`.scale_verify`).
With worker processes instead: :mod:`.scale_process_harness`."""

from __future__ import annotations

import asyncio
import contextlib
import random
import shutil
import time
from typing import Any

import structlog

from rampart.clock import SimClock
from rampart.config import load_settings
from rampart.domain.candles import timeframe_ms
from rampart.domain.errors import ConfigError, StoreError
from rampart.domain.shards import FREE
from rampart.messaging.commands import CommandSender
from rampart.messaging.market import CandlePublisher, market_stream
from rampart.messaging.nats_link import command_stream, connect
from rampart.operator.fleet import Fleet
from rampart.store.db import open_database
from rampart.store.leases import lease_table
from rampart_testkit.nats import NatsServer, nats_binary
from rampart_testkit.simulator.runner import serve
from rampart_testkit.soak import build
from rampart_testkit.soak.config import SoakConfig
from rampart_testkit.soak.scale_checks import (
    protect,
    reconcile_all,
)
from rampart_testkit.soak.scale_end import finish
from rampart_testkit.soak.scale_faults import (
    CRASH,
    DB_DROP,
    HANDOVER,
    NATS_RESTART,
    PAUSE,
    SQLITE_SKIP,
    ScaleCounts,
    ScalePlan,
    late_orders,
    restart_nats,
    tally_handover,
    watch_moves,
)
from rampart_testkit.soak.scale_measure import FAN_OUT_PROBE
from rampart_testkit.soak.scale_workers import (
    HISTORY,
    ScaleConfig,
    SoakWorker,
    Store,
    all_traders,
    settings_data,
)
from rampart_testkit.soak.stats import SoakStats, data_mb, resident_mb, rss_mb
from rampart_testkit.soak.stepping import Progress, StepRun

log = structlog.get_logger("rampart_testkit.soak.scale")

FIRST = 4
"""Candles before the first fault."""
DROP_STEPS = 1
"""Candles the store's connections stay cut (less than a lease: leases survive it)."""
FAN_OUT_EVERY = 5
"""Quiet candles between two commands sent to every worker to time the fan-out."""
RSS_EVERY = 10
"""Candles between two samples of this process's resident memory (no collection forced: a
forced one would hide garbage the workers leave to Python's collector)."""


class ScaleSoak:
    def __init__(
        self, config: SoakConfig, scale: ScaleConfig, progress: Progress | None = None
    ) -> None:
        self.cfg = config
        self.scale = scale
        self.progress = progress
        self.stats = SoakStats()
        self.counts = ScaleCounts()
        self.picks = random.Random(config.seed + 3)
        self.tf_ms = timeframe_ms(config.timeframe)
        self.workers: list[SoakWorker] = []
        """Running (not crashed, not stopped); a paused one included."""
        self.serial = 0
        self.paused: SoakWorker | None = None
        self.paused_at = 0
        self.drop_until = -1
        self.moving: list[tuple[str, set[int], int]] = []
        """Crashed or paused workers' shards not yet held by others: (episode, shards, step)."""
        self.quiet_since = 0
        self.counting = False
        self.last_close: dict[str, int] = {}
        """The close time of the last candle published, per symbol."""

    # -- running ------------------------------------------------------------------------------

    async def run(self) -> tuple[SoakStats, ScaleCounts]:
        cfg = self.cfg
        nats_binary()  # one sentence when it is missing, before anything starts
        if self.scale.store_url is None and DB_DROP in cfg.faults:
            self.counts.skipped[DB_DROP] = SQLITE_SKIP
        total = max(1, int(cfg.duration_s * 1000 // self.tf_ms))
        self._plan(total)
        # The memory baseline once every bounded history is full (the workers' candles).
        cfg.baseline_at = max(cfg.baseline_at, min(0.5, (HISTORY + 5) / total))
        cfg.out_dir.mkdir(parents=True, exist_ok=True)
        self.stats.rss_start_mb = rss_mb()
        started = time.perf_counter()
        self.store = Store(self.scale.store_url, cfg.out_dir / "scale-soak.db")
        shutil.rmtree(cfg.out_dir / "nats", ignore_errors=True)
        self.nats = NatsServer(cfg.out_dir / "nats")
        self.nc: Any = None
        try:
            await asyncio.to_thread(self.nats.start)
            async with serve(build.exchange(cfg), fault_seed=cfg.seed) as sim:
                self.sim = sim
                try:
                    await self._open(sim)
                    await self._loop()
                    await self._finish()
                finally:
                    await self._close()
        finally:
            self.nats.stop()
            shutil.rmtree(self.nats.store, ignore_errors=True)
            self.store.close()
        self.stats.wall_s = time.perf_counter() - started
        self.stats.sim_s = self.stats.steps * self.tf_ms / 1000
        return self.stats, self.counts

    def _plan(self, total: int) -> ScalePlan:
        """The seeded plan; ConfigError, in one sentence, when the run is too short for every
        kind asked for (checked before anything starts)."""
        lease = self.scale.lease_steps
        gap = self.scale.gap or lease + self.cfg.settle_candles + 6
        kinds = tuple(k for k in self.cfg.faults if k not in self.counts.skipped)
        plan = ScalePlan(kinds, total, random.Random(self.cfg.seed), gap, FIRST, lease + 4)
        if len(plan.planned()) < len(kinds):
            need = (FIRST + gap * (len(kinds) - 1) + lease + 5) * self.tf_ms / 60_000
            raise ConfigError(
                f"This scale soak has room for {len(plan.planned())} of the {len(kinds)} fault "
                f"kinds asked for (one every {gap} candles): run at least {need:g} minutes, or "
                "name fewer with --faults."
            )
        return plan

    async def _open(self, sim: Any) -> None:
        await self._connect(sim, SimClock(sim.exchange.now_ms))
        await self._publish()  # the history every worker warms on
        for _ in range(self.scale.workers):
            await self._start_worker()
        for _ in range(2):  # the first round says each is here; the second shares the shards
            await self._rounds()
        self.counting = True

    async def _connect(self, sim: Any, ops: Any) -> None:
        """The accounts on the exchange, the workers' settings, the store, the feed's end on
        NATS and the fleet (what the harness sends commands with); ``ops``: liveness."""
        cfg = self.cfg
        await sim.advance(cfg.warmup_candles + 2)
        self.ops = ops
        self.feed_clock = SimClock(sim.exchange.now_ms)
        keys = {
            a: sim.create_account({"USDT": str(cfg.capital)}, account_id=a)
            for a in cfg.account_ids()
        }
        self.data = settings_data(cfg, self.scale, sim, keys, self.store.url, self.nats.url)
        self.settings = load_settings(**self.data)
        # The harness reads the lease table and, at the end, the store: past the relay.
        direct = self.store.url if self.store.sqlite else self.store.direct_url()
        self.db = await asyncio.to_thread(open_database, direct)
        self.feed = build.feed(cfg, sim, self.feed_clock, set(), lambda *_: None)
        self.nc = await connect(self.nats.url, "rampart-soak-feed")
        self.publisher = CandlePublisher(
            await market_stream(self.nc, self.settings.scale.market_keep)
        )
        self.sender = CommandSender(self.nc, await command_stream(self.nc), self.ops)
        timings = self.counts.timings
        timings.ack_timeout_s = self.settings.scale.ack_timeout_s
        timings.memory_alert_per_h_pct = self.settings.alerts.levels.memory_growth_per_h * 100
        self.fleet = Fleet(
            self.db,
            self.sender,
            self.ops,
            shards=self.scale.shards,
            ack_timeout_s=timings.ack_timeout_s,
            on_fan_out=lambda _kind, seconds: timings.fan_out.add(seconds),
        )

    async def _start_worker(self) -> SoakWorker:
        self.serial += 1
        worker = SoakWorker(self.settings, f"w{self.serial}", self.ops)
        worker.time_orders(self.stats.order_latency)
        await worker.start()
        self.workers.append(worker)
        self.counts.workers_started += 1
        await worker.wait_until(self._published_to())
        return worker

    def _published_to(self) -> dict[str, int]:
        return dict(self.last_close)

    async def _publish(self) -> None:
        self.feed_clock.set(max(self.feed_clock.now_ms(), self.sim.exchange.now_ms))
        candles, _ok = await self.feed.poll_once()
        for candle in candles:
            await self.publisher.publish(candle)
            self.last_close[candle.symbol] = max(
                self.last_close.get(candle.symbol, 0), candle.close_ts
            )

    def _active(self) -> list[SoakWorker]:
        return [w for w in self.workers if not w.paused]

    async def _loop(self) -> None:
        cfg = self.cfg
        run = StepRun(cfg, self.tf_ms, self.stats, self.progress)
        plan = self._plan(run.total)
        reconcile_every = max(1, int(cfg.reconcile_every_s * 1000 // self.tf_ms))
        for step in range(run.total):
            due = plan.due(step)
            handing = self._handover_arm() if due == HANDOVER else None
            if due == NATS_RESTART:
                await self._restart_nats()
            elif due == DB_DROP and self.store.relay is not None:
                self.store.relay.cut()
                self.drop_until = step + DROP_STEPS
                self.counts.injected[DB_DROP] += 1
            await self.sim.advance(1)
            await self._publish()
            self.ops.advance(int(self.scale.ops_step_s * 1000))
            await self.sender.heartbeat()
            if due == CRASH:
                await self._crash(step)
            elif due == PAUSE:
                await self._pause(step)
            await self._wait_candle()
            if handing is not None:
                await self._handover_ends(handing)
            if step == self.drop_until and self.store.relay is not None:
                self.store.relay.restore()
            await self._rounds()
            await self._after_pause(step)
            self._watch_moves(step)
            if due is not None or self.paused is not None or self.moving or step <= self.drop_until:
                self.quiet_since = step + 1
            protect(self.stats, self.sim, self._active())
            quiet = step + 1 - self.quiet_since >= cfg.settle_candles
            if quiet and (step + 1) % FAN_OUT_EVERY == 0:
                await self._fan_out()
            if (step + 1) % reconcile_every == 0:
                await reconcile_all(self.stats, self.sim, self._active(), "interval", quiet)
            self.stats.candles += len(self.last_close)
            await run.done(step)
            if step + 1 == run.baseline_at:  # measured after the RSS: a walk allocates
                self.stats.sim_baseline_mb = data_mb(self.sim.context)
            if (step + 1) % RSS_EVERY == 0:  # the trend, left to the collector as it runs
                self.counts.timings.rss_mb.append(round(resident_mb(), 1))
        self.stats.rss_end_mb = rss_mb()  # before the final checks load the store
        self.stats.sim_end_mb = data_mb(self.sim.context)
        self.stats.episodes.update(self.counts.injected)

    def _gone(self, worker: SoakWorker) -> None:
        """A worker leaves (its fenced refusals counted; nothing keeps it, or its memory)."""
        fenced = worker.metrics.scale.fenced.labels
        self.counts.fenced_writes += int(fenced(what="write")._value.get())
        self.counts.fenced_orders += int(fenced(what="order")._value.get())

    async def _fan_out(self) -> None:
        """A command every worker holding a shard must answer: the fan-out's time."""
        fan = await self.fleet.send(FAN_OUT_PROBE, {"actor": "soak", "reason": "fan-out probe"})
        if not fan.complete:
            self.counts.timings.fan_out_incomplete.append(fan.sentence())

    # -- faults -------------------------------------------------------------------------------

    def _moving(self, label: str, victim: SoakWorker, released: bool = False) -> None:
        self.counts.timings.begin(
            label,
            victim.name,
            victim.traders,
            lease_table(self.db),
            self.ops.now_ms(),
            int(self.scale.lease_s * 1000),
            released,
        )

    def _victim(self) -> SoakWorker | None:
        held = [w for w in self._active() if w.traders]
        return self.picks.choice(held) if held else None

    async def _crash(self, step: int) -> None:
        victim = self._victim()
        if victim is None:
            return
        self.counts.injected[CRASH] += 1
        label = f"crash-{self.counts.injected[CRASH]}"
        self.moving.append((label, set(victim.traders), step))
        self._moving(label, victim)
        self.workers.remove(victim)
        await victim.crash()
        self._gone(victim)
        await self._start_worker()  # as a supervisor restarts it, under a new name
        self.counts.replacements += 1

    async def _pause(self, step: int) -> None:
        victim = self._victim()
        if victim is None or self.paused is not None:
            return
        self.counts.injected[PAUSE] += 1
        label = f"pause-{self.counts.injected[PAUSE]}"
        self.moving.append((label, set(victim.traders), step))
        self._moving(label, victim)
        await victim.freeze(self.scale.shards)
        self.paused, self.paused_at = victim, step

    async def _after_pause(self, step: int) -> None:
        """Resume a paused worker once others hold all its shards (or a generous bound has
        passed): the work it had in hand is tried, and must be refused."""
        w = self.paused
        if w is None:
            return
        label = f"pause-{self.counts.injected[PAUSE]}"
        if any(m[0] == label for m in self.moving) and step < self.paused_at + 3 * (
            self.scale.lease_steps + 2
        ):
            return
        for shard, trader in list(w.traders.items()):
            if await trader.session.checkpoint_off_loop():
                self.counts.late_writes_saved += 1
                log.error("late_write_saved", worker=w.name, shard=shard)
            await late_orders(trader, self.counts)
        w.thaw()
        self.paused = None
        await w.wait_until(self._published_to())  # its backlog: nothing traded, leases gone

    def _handover_arm(self) -> SoakWorker | None:
        """Before the step's candles go out: one worker will stop cleanly (as on SIGTERM)
        right after the first of its shards has traded the first of them; the others are
        checkpointed and released before they trade it."""
        victim = self._victim()
        if victim is None:
            return None
        self.counts.injected[HANDOVER] += 1
        self._moving(f"handover-{self.counts.injected[HANDOVER]}", victim, released=True)
        self.workers.remove(victim)
        victim.stop_mid_candle(self.sim.exchange.now_ms + self.tf_ms)
        return victim

    async def _handover_ends(self, victim: SoakWorker) -> None:
        if victim.stopping is None:  # none of its shards traded the candle
            await victim.stop_cleanly()
        else:
            await victim.stopping
        tally_handover(victim.handed, self._published_to(), self.counts)
        self._gone(victim)
        await self._start_worker()
        self.counts.replacements += 1

    async def _restart_nats(self) -> None:
        self.counts.injected[NATS_RESTART] += 1
        await restart_nats(self.nats, [self.nc, *(w.nc for w in self.workers)], self.counts)

    def _watch_moves(self, step: int) -> None:
        timings = self.counts.timings
        if timings.open:
            newest = {
                (w.name, t.shard): w.shard_seen.get(t.shard, 0)
                for w, t in all_traders(self._active())
            }
            timings.watch(lease_table(self.db), self.ops.now_ms(), newest)
        if self.moving:
            self.moving = watch_moves(
                self.moving,
                lease_table(self.db),
                self.ops.now_ms(),
                {w.name for w in self._active()},
                step,
                4 * (self.scale.lease_steps + 2),
                self.counts,
            )

    # -- each step ----------------------------------------------------------------------------

    async def _wait_candle(self) -> None:
        target = self._published_to()
        for worker in self._active():
            if not await worker.wait_until(target):
                self.counts.stuck.append(f"{worker.name} did not receive the candle at {target}")

    async def _rounds(self) -> None:
        before = lease_table(self.db)
        now = self.ops.now_ms()
        for worker in self._active():
            try:
                await worker.lease_round()
            except StoreError as err:
                self.counts.store_errors += 1
                log.warning("lease_round_failed", worker=worker.name, error=err.message)
        if not self.counting:
            return
        for shard, holder in lease_table(self.db).items():
            old = before.get(shard)
            if old is None or holder.owner in (FREE, old.owner):
                continue
            if old.owner != FREE and not old.live(now):
                self.counts.takeovers += 1
            else:
                self.counts.handovers += 1

    # -- the end ------------------------------------------------------------------------------

    async def _finish(self) -> None:
        await finish(self)

    async def _close(self) -> None:
        if self.paused is not None:
            self.paused.thaw()
            self.paused = None
        if self.store.relay is not None and not self.store.relay.open:
            self.store.relay.restore()
        for worker in self.workers:
            with contextlib.suppress(Exception):
                await worker.stop_cleanly()
        with contextlib.suppress(Exception):
            await self.feed.close()
        if self.nc is not None:
            with contextlib.suppress(Exception):
                await self.nc.close()
        if getattr(self, "db", None) is not None:
            self.db.dispose()


async def run_scale_soak(
    config: SoakConfig, scale: ScaleConfig, progress: Progress | None = None
) -> tuple[SoakStats, ScaleCounts]:
    if scale.processes:
        from rampart_testkit.soak.scale_process_harness import ProcessScaleSoak

        return await ProcessScaleSoak(config, scale, progress).run()
    return await ScaleSoak(config, scale, progress).run()


__all__ = ["ScaleSoak", "run_scale_soak"]

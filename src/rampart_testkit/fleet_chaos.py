"""The fleet chaos run: real ``rampart worker`` processes and one ``rampart feed``
trading simulator accounts through a PostgreSQL and a NATS JetStream server of the run's own,
under a schedule of faults — kill -9 of a worker (started again after), SIGSTOP of one past its
lease, NATS stopped and started, PostgreSQL stopped and started, the CPU oversubscribed 2× by
busy-loop processes — and then the outcomes the issue asks for:

- **books = venue**: every exchange trade one fill in the store and no other, every order on
  the exchange in the store, every account's BTC position the exchange's balance, exactly;
- **0 client ids sent twice**: from the simulator's own log of the orders it received;
- **0 wedged shards**: once the faults are over and the fleet has settled, every shard held by
  a running worker and checkpointing (its checkpoint's candle time advancing within the last
  ``wedge_window_s``), every worker's database up;
- the longest time any shard was held by no one, and how long after a kill -9 or a SIGSTOP each
  moved shard traded again: its first checkpoint of a candle that closed after the fault (the
  run checkpoints every candle, so that is its first decision there, to a candle).

Time is the wall clock throughout: the processes run on it, and so do the faults. The harness
samples the lease and checkpoint tables every ``TICK_S``; the waits on other processes are
bounded so that a broken fleet fails the run instead of hanging it. The simulator's market is
frozen before the workers stop, so that nothing fills behind their back before the books are
compared; each worker stops with SIGTERM (checkpointed and handed back)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import yaml

from rampart.domain.errors import StoreError
from rampart.security.secrets import generate_key
from rampart.store import models as m
from rampart.store.db import open_database
from rampart.store.leases import lease_table
from rampart_testkit.bare_watch import BareWatch, FaultWindows
from rampart_testkit.fleet_chaos_checks import (
    books_against_venue,
    claimed_at,
    claims,
    judge,
    last_line,
    lines,
)
from rampart_testkit.fleet_chaos_infra import CpuLoad, OwnPostgres, SimThread
from rampart_testkit.fleet_chaos_plan import (
    CPU,
    FREEZE,
    KILL,
    KINDS,
    NATS_DOWN,
    PG_DOWN,
    ChaosFigures,
    ChaosShape,
    Fault,
    account_id,
    settings,
)
from rampart_testkit.nats import NatsServer
from rampart_testkit.soak.scale_procs import WorkerProcess

TICK_S = 0.5
DATABASE_UP = "rampart_database_up"
RESUME_GOAL_S = 10.0
AUDIT = "audit"
STOP_GUARD_S = 60.0
CLEAN_STOP = "the workers' clean stop (SIGTERM)"
TAKEOVER = "a fresh worker's takeover"
FEED_STOP_S = 15.0
SAMPLE_ERRORS = (sa.exc.SQLAlchemyError, StoreError, OSError)
"""A sample of the tables while PostgreSQL is stopped: skipped, not a failure of the run."""


class FleetChaos:
    def __init__(
        self,
        shape: ChaosShape,
        schedule: list[Fault],
        out_dir: Path,
        say: Callable[[str], None] = print,
        seed: int = 54,
    ) -> None:
        self.shape = shape
        self.schedule = sorted(schedule, key=lambda f: f.at_s)
        self.out = out_dir
        self.say = say
        self.seed = seed
        self.figures = ChaosFigures()
        self._cleanup_env = False
        self.injected: Counter[str] = Counter()
        self.workers: dict[str, WorkerProcess] = {}
        self.retired: list[WorkerProcess] = []
        self.feed: subprocess.Popen[bytes] | None = None
        self.feeds_started = 0
        self.unheld_since: dict[int, float] = {}
        self.checkpoint_ts: dict[int, int] = {}
        self.waiting: list[tuple[str, float, int]] = []
        """(fault label, wall time of the fault, shard) not yet traded again."""
        self.kinds: dict[str, str] = {}
        """Per fault label: the fault's kind, and whether the CPU load was on when it came."""
        self.moves: list[tuple[str, float, int]] = []
        """Every (fault label, wall time of the fault, shard) the fault took from a worker."""
        self.pg: OwnPostgres | None = None
        self.nats: NatsServer | None = None
        self.sim: SimThread | None = None
        self.load = CpuLoad(factor=2)
        self.db: sa.Engine | None = None
        self.began = time.monotonic()
        self.config = out_dir / "fleet.yaml"
        self.data: dict[str, Any] = {}
        self.bare = BareWatch()
        self.faulting = FaultWindows()

    # -- the run --------------------------------------------------------------------------------

    def run(self) -> ChaosFigures:
        started = time.monotonic()
        self.began = started
        try:
            self._start()
            self._faults()
            self._phase("faults over; settling")
            self._settle()
            self._phase("settled; market frozen, the workers stop")
            self._finish()
            self._phase("books compared")
        finally:
            self.figures.seconds = time.monotonic() - started
            self._close()
        self.figures.faults = dict(self.injected)
        judge(self.figures, RESUME_GOAL_S, self.shape.lease_s)
        return self.figures

    def _phase(self, what: str) -> None:
        self.say(f"[{time.monotonic() - self.began:.0f} s] {what}")

    def _start(self) -> None:
        if "RAMPART_MASTER_KEY" not in os.environ:
            # The processes it starts inherit it; taken back at the end (_close), so a test run
            # later in the same process reads its own settings, not this run's key.
            os.environ["RAMPART_MASTER_KEY"] = generate_key()
            self._cleanup_env = True
        shape = self.shape
        self.pg = OwnPostgres()
        self.pg.init()
        self.db = open_database(self.pg.url)  # the schema, before any worker
        self.nats = NatsServer(self.out / "nats")
        self.nats.start()
        self.sim = SimThread(shape.accounts, shape.timeframe, Decimal(10_000), shape.request_limit)
        self.sim.start()
        self.data = settings(shape, self.sim.url, self.sim.keys, self.pg.url, self.nats.url)
        self.config.write_text(yaml.safe_dump(self.data), encoding="utf-8")
        self._start_feed()
        for n in range(shape.workers):
            self._spawn(f"w{n + 1}")
        t0 = time.monotonic()
        while not self._all_held():
            if time.monotonic() - t0 > shape.start_within_s:
                raise AssertionError(f"the fleet held {self._owners()} after {t0:.0f} s")
            time.sleep(TICK_S)  # other processes' progress, read from the lease table
        self.say(f"every shard held after {time.monotonic() - t0:.0f} s: {self._owners()}")

    def _start_feed(self) -> None:
        self.feeds_started += 1
        log = (self.out / f"feed-{self.feeds_started}.out").open("wb")
        self.feed = subprocess.Popen(  # noqa: S603 - this Python, fixed arguments, no shell
            [sys.executable, "-m", "rampart.cli.main", "feed", "--config", str(self.config)],
            cwd=self.out,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "COLUMNS": "200"},
        )
        log.close()  # the child has its own copy

    def _spawn(self, name: str) -> WorkerProcess:
        earlier = self.out / f"worker-{name}.out"
        if earlier.exists():  # a worker started again under its name: its last words kept
            earlier.rename(self.out / f"worker-{name}.{time.monotonic_ns()}.out")
        worker = WorkerProcess(name, self.data, self.out)
        self.workers[name] = worker
        return worker

    def _faults(self) -> None:
        begin = time.monotonic()
        pending = list(self.schedule)
        ending: list[tuple[float, Fault, Any]] = []
        while pending or ending:
            now = time.monotonic() - begin
            while pending and pending[0].at_s <= now:
                fault = pending.pop(0)
                undo = self._inject(fault)
                if undo is not None:
                    ending.append((now + fault.lasts_s, fault, undo))
                    self.faulting.began(fault.kind, time.time())
            for item in [e for e in ending if e[0] <= now]:
                ending.remove(item)
                item[2]()
                self.faulting.ended(item[1].kind, time.time())
                self.say(f"+{now:.0f} s: {item[1].kind} over")
            self._tick()
            time.sleep(TICK_S)  # the schedule's pace is the wall clock's

    def _inject(self, fault: Fault) -> Callable[[], None] | None:
        kind = fault.kind
        now = time.time()
        if kind in (KILL, FREEZE):
            victim = self._victim()
            if victim is None:
                return None
            held = [s for s, o in self._owners().items() if o == victim.name]
            self.injected[kind] += 1
            label = f"{kind} {victim.name} #{self.injected[kind]}"
            self.kinds[label] = kind + (" under CPU 2x" if self.load.on else "")
            self.waiting.extend((label, now, s) for s in held)
            self.moves.extend((label, now, s) for s in held)
            wall = time.strftime("%H:%M:%S", time.gmtime(now)) + f".{int(now * 1000) % 1000:03d}"
            self.say(f"{label} at {wall} UTC: it held shards {held}")
            if kind == KILL:
                victim.kill()
                self._retire(victim)

                def again() -> None:
                    if victim.name not in self.workers:  # not started again meanwhile
                        self._spawn(victim.name)  # under its name, as a supervisor would

                return again
            victim.freeze()
            return victim.thaw
        self.injected[kind] += 1
        self.say(f"{kind} for {fault.lasts_s:g} s")
        if kind == NATS_DOWN:
            nats = self._nats()
            nats.stop()
            return nats.start
        if kind == PG_DOWN:
            pg = self._pg()
            pg.stop()
            return pg.start
        if kind == CPU:
            self.load.start()
            return self.load.stop
        raise ValueError(f"no such fault: {kind}")

    def _victim(self) -> WorkerProcess | None:
        owners = set(self._owners().values())
        held = sorted(w.name for w in self._running() if w.name in owners)
        if not held:
            return None
        return self.workers[held[(self.seed + sum(self.injected.values())) % len(held)]]

    def _settle(self) -> None:
        """The faults over: the fleet settles, then every shard must checkpoint within the
        wedge window."""
        until = time.monotonic() + self.shape.settle_s
        while time.monotonic() < until:
            self._tick()
            time.sleep(TICK_S)
        before = dict(self.checkpoint_ts)
        until = time.monotonic() + self.shape.wedge_window_s
        while time.monotonic() < until:
            self._tick()
            time.sleep(TICK_S)
        self._wedged(before)

    def _wedged(self, before: dict[int, int]) -> None:
        owners = self._owners()
        names = {w.name for w in self._running()}
        for shard in range(self.shape.shards):
            if owners.get(shard) not in names:
                self.figures.wedged.append(f"shard {shard} held by no running worker")
            elif self.checkpoint_ts.get(shard, 0) <= before.get(shard, 0):
                self.figures.wedged.append(
                    f"shard {shard} ({owners[shard]}) saved no checkpoint in "
                    f"{self.shape.wedge_window_s:g} s"
                )
        for worker in self._running():
            if worker.scrape() and worker.value(DATABASE_UP) < 1:
                self.figures.wedged.append(f"{worker.name} says its database is down")

    def _finish(self) -> None:
        """Freeze the market, let every shard checkpoint its last candle, stop the workers
        (SIGTERM), then compare the books with the exchange."""
        sim = self._sim()
        sim.frozen = True
        stable_since, last = time.monotonic(), dict(self.checkpoint_ts)
        guard = time.monotonic() + STOP_GUARD_S
        while time.monotonic() - stable_since < 3 * TICK_S * 4 and time.monotonic() < guard:
            self._tick()
            if self.checkpoint_ts != last:
                stable_since, last = time.monotonic(), dict(self.checkpoint_ts)
            time.sleep(TICK_S)
        self._stop_workers()
        self._look(CLEAN_STOP)
        self._phase("workers stopped")
        for label, _t0, shard in self.waiting:
            self.figures.never_resumed.append(f"shard {shard} after {label}")
        self.figures.claims = claims(self.moves, claimed_at(self.out / "var"), self.kinds)
        unhealed = ChaosFigures()
        self._compare(unhealed)
        self.figures.before_heal = lines(unhealed)[1]
        self._phase("the fleet's books compared; a fresh worker takes every shard over")
        self._audit()
        self._look(TAKEOVER)
        self.bare.finish()
        self.figures.bare = self.bare.lines([*KINDS, CLEAN_STOP, TAKEOVER])
        self._compare(self.figures)

    def _stop_workers(self) -> None:
        for worker in self._running():
            worker.terminate()
        for worker in list(self.workers.values()):
            code = worker.wait()
            if code not in (0, -signal.SIGKILL):
                self.figures.exits.append(f"{worker.name} stopped with {code}")
            self._retire(worker)

    def _audit(self) -> None:
        """One fresh worker takes every shard over (reconciling each with the exchange, as a
        takeover does) and stops: what the store holds then is what the fleet heals to."""
        worker = self._spawn(AUDIT)
        log = self.out / "var" / f"rampart-worker-{AUDIT}.log"
        guard = time.monotonic() + STOP_GUARD_S
        while time.monotonic() < guard:
            taken = log.read_text(errors="replace").count('"shard_taken"') if log.exists() else 0
            if taken >= self.shape.shards or not worker.running:
                break
            time.sleep(TICK_S)  # another process's progress, read from its log
        else:
            self.figures.failures.append("the audit worker did not take every shard in time")
        self._stop_workers()

    def _compare(self, figures: ChaosFigures) -> None:
        sim = self._sim()
        pairs = [(account_id(i), k[0]) for i, k in enumerate(sim.keys)]
        db = self._db()

        async def compare() -> None:
            await sim.sim.idle()
            books_against_venue(figures, db, sim.sim.context, pairs)
            figures.requests = sum(sim.sim.context.requests.values())

        sim.call(compare)

    # -- sampling -------------------------------------------------------------------------------

    def _look(self, fault: str | None = None) -> None:
        """One look at the exchange for coins without a resting stop."""
        sim = self._sim()

        async def state() -> dict[str, Any]:
            return sim.sim.context.exchange.state()

        now = time.time()
        # A fault's shards may still be moving for a lease and 5 s after it ends.
        charged = fault or self.faulting.at(now, self.shape.lease_s + 5)
        self.bare.sample(now, sim.call(state), charged)

    def _tick(self) -> None:
        now = time.time()
        self._exits()
        self._look()
        try:
            table = lease_table(self._db())
            with self._db().connect() as conn:
                rows = conn.execute(sa.select(m.checkpoints.c.name, m.checkpoints.c.ts)).all()
        except SAMPLE_ERRORS:
            return
        now_ms = int(now * 1000)
        for shard in range(self.shape.shards):
            holder = table.get(shard)
            if holder is not None and holder.live(now_ms):
                since = self.unheld_since.pop(shard, None)
                if since is not None:
                    self._unheld(shard, now - since)
            else:
                self.unheld_since.setdefault(shard, now)
        for name, ts in rows:
            if str(name).startswith("shard-") and ts is not None:
                self.checkpoint_ts[int(str(name)[6:])] = int(str(ts))
        for item in list(self.waiting):
            label, t0, shard = item
            if self.checkpoint_ts.get(shard, 0) > t0 * 1000:
                self.figures.moves.append((now - t0, self.kinds[label], label, shard))
                self.waiting.remove(item)

    def _unheld(self, shard: int, seconds: float) -> None:
        if seconds > self.figures.longest_unheld_s:
            self.figures.longest_unheld_s = seconds
            self.figures.longest_unheld_shard = shard

    def _exits(self) -> None:
        """A process that exits by itself is a finding; it is started again (a supervisor
        would), so that the rest of the run still means something."""
        if self.feed is not None and self.feed.poll() is not None:
            said = last_line(self.out / f"feed-{self.feeds_started}.out")
            self.figures.exits.append(f"feed exited with {self.feed.returncode}: {said}")
            self.say(f"the feed exited with {self.feed.returncode}; started again")
            self._start_feed()
        for worker in list(self.workers.values()):
            if not worker.running and not worker.paused:
                code = worker.proc.returncode
                said = last_line(self.out / f"worker-{worker.name}.out")
                self.figures.exits.append(f"{worker.name} exited with {code}: {said}")
                self._retire(worker)
                self._spawn(worker.name)

    def _retire(self, worker: WorkerProcess) -> None:
        if self.workers.get(worker.name) is worker:
            del self.workers[worker.name]
            self.retired.append(worker)

    def _running(self) -> list[WorkerProcess]:
        return [w for w in self.workers.values() if w.running and not w.paused]

    def _owners(self) -> dict[int, str]:
        now = int(time.time() * 1000)
        try:
            return {s: h.owner for s, h in lease_table(self._db()).items() if h.live(now)}
        except SAMPLE_ERRORS:
            return {}

    def _all_held(self) -> bool:
        owners = self._owners()
        names = {w.name for w in self._running()}
        return len(owners) == self.shape.shards and set(owners.values()) <= names

    # -- the parts ------------------------------------------------------------------------------

    def _db(self) -> sa.Engine:
        if self.db is None:
            raise RuntimeError("the run's database is not open")
        return self.db

    def _pg(self) -> OwnPostgres:
        if self.pg is None:
            raise RuntimeError("the run's PostgreSQL is not started")
        return self.pg

    def _nats(self) -> NatsServer:
        if self.nats is None:
            raise RuntimeError("the run's NATS server is not started")
        return self.nats

    def _sim(self) -> SimThread:
        if self.sim is None:
            raise RuntimeError("the run's simulator is not started")
        return self.sim

    def _close(self) -> None:
        """Everything the run started, stopped: each step runs even when one before it fails
        (or a test's timeout interrupts it), so no server outlives the run."""
        with contextlib.ExitStack() as steps:
            if self._cleanup_env:
                steps.callback(os.environ.pop, "RAMPART_MASTER_KEY", None)
            if self.pg is not None:
                steps.callback(self.pg.destroy)
            if self.nats is not None:
                steps.callback(self.nats.stop)
            if self.db is not None:
                steps.callback(self.db.dispose)
            if self.sim is not None:
                steps.callback(self.sim.stop)
            steps.callback(self._stop_feed)
            for worker in list(self.workers.values()):
                steps.callback(self._retire, worker)
                steps.callback(worker.wait)
                steps.callback(worker.terminate)
            steps.callback(self.load.stop)

    def _stop_feed(self) -> None:
        if self.feed is None or self.feed.poll() is not None:
            return
        self.feed.send_signal(signal.SIGTERM)
        try:
            self.feed.wait(FEED_STOP_S)
        except subprocess.TimeoutExpired:
            self.figures.exits.append(f"the feed did not stop within {FEED_STOP_S:g} s of SIGTERM")
            self.feed.kill()
            self.feed.wait()

    def report(self) -> list[str]:
        return lines(self.figures)


__all__ = ["RESUME_GOAL_S", "FleetChaos"]

"""The run of a service soak: start the simulator and the service, keep the simulator's market
on the service's business time, plant the kills, sample what the judge needs, stop, collect.

The service runs on its own clock (the synthetic feed's candles at ``speed``); the run reads
where that clock stands from the service's database (each heartbeat records it) and advances
the simulator's market to it, so an order is filled at the price of the candle it was sent on.
Time here is the wall clock only where a process lives in it: waits for processes, the memory
samples, the wall-time bound.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import psutil
import sqlalchemy as sa

from rampart.backup.keys import key_from_text
from rampart.domain.candles import timeframe_ms
from rampart.store.service_clock import load_service_time
from rampart_testkit.soak.scale_workers import Store
from rampart_testkit.soak_service import collect, procs, resume, state
from rampart_testkit.soak_service.evidence import Evidence, FaultWindow, Life
from rampart_testkit.soak_service.faults import (
    EXPECTS,
    FIRE_SLACK_S,
    QUIET_S,
    FaultRunner,
    write_rules,
)
from rampart_testkit.soak_service.jobs import covering_end_ms, pending, schedules
from rampart_testkit.soak_service.resume import Recorder

TICK_S = 0.25
SAMPLE_EVERY_S = 1.0
SCRAPE_EVERY_S = 2.0
WARMUP_S = 15.0  # memory is sampled no sooner than this after a start (imports, history)
WARM_BUSINESS_S = 3600.0  # and from the end of a life's first simulated hour (memory_warm_s)
STOPPING_BUDGET_S = 6.5  # what is left for collecting after a SIGTERM: it ends within 10 s
END_BUDGET_S = 120.0
MAX_CRASHES = 5  # deaths of its own after which the service is not started again
JOBS_WAIT_S = 60.0  # how long past its end the run waits for the jobs due by then
BACKUP_SLOT_TOLERANCE = 1
"""A backup whose slot falls in the run's last stretch may not have been taken yet."""


@dataclass
class ServiceSoakConfig:
    out_dir: Path
    hours: float = 24.0
    kills: int = 3
    speed: float = 120.0
    """Simulated seconds per wall second of the service's feed."""
    wall_limit_s: float = 40 * 60.0
    seed: int = 7
    accounts: int = 2
    timeframe: str = "1m"
    symbols: tuple[str, ...] = ("BTC/USDT", "ETH/USDT")
    backup_every_h: float = 6.0
    kill_down_s: float = 1.0
    """How long the service stays dead after each planted kill."""
    store_url: str | None = None
    """A PostgreSQL URL: the service's store is a fresh schema in it, behind a TCP relay the
    store outage cuts (dropped after); None: a SQLite file in ``out_dir``."""
    faults: tuple[str, ...] = ()
    """Kinds of :data:`~rampart_testkit.soak_service.faults.SERVICE_KINDS` to inject, once each."""
    resume: bool = True
    """Resume the unfinished run saved in ``out_dir`` (its host restarted), if there is one."""

    def plan(self) -> dict[str, object]:
        """What was asked, saved with the run: a resume must be asked the same."""
        return {
            "hours": self.hours,
            "kills": self.kills,
            "speed": self.speed,
            "seed": self.seed,
            "faults": list(self.faults),
            "backup_every_h": self.backup_every_h,
            "store_url": self.store_url,
        }

    def kill_points_s(self) -> list[float]:
        """Business seconds from the start at which to kill: evenly through the run."""
        span = self.hours * 3600
        return [span * (i + 1) / (self.kills + 1) for i in range(self.kills)]


@dataclass
class _Run:
    config: ServiceSoakConfig
    stop: asyncio.Event
    progress: Callable[[str], None]
    ev: Evidence
    sim: procs.FrozenSimulator
    settings_file: Path = field(init=False)
    log: Path = field(init=False)
    db: sa.Engine | None = None
    proc: asyncio.subprocess.Process | None = None
    life: Life | None = None
    api: str = ""
    sim_ms: int = 0
    begin_ms: int | None = None
    business_ms: int | None = None
    business_read_s: float = 0.0
    faults: FaultRunner | None = None
    read_url: str = ""
    """The store as the run reads it (past the relay)."""
    kills_left: list[float] = field(default_factory=list)
    """Business seconds from the start of the planted kills still to come."""
    recorder: Recorder | None = None
    ended_at_s: float | None = None  # when the business clock reached the run's end
    life_from_ms: int | None = None  # the business clock at this life's first reading

    def record(self, status: str = state.RUNNING) -> None:
        """Save the run's state now."""
        if self.recorder is not None:
            todo = [] if self.faults is None else list(self.faults.todo)
            pid = 0 if self.proc is None else self.proc.pid
            self.recorder.save(self.ev, self.kills_left, todo, pid, self.sim, status)

    def business_estimate(self, now_s: float) -> int:
        """The service's business time now: the last read moved on at the feed's speed (its
        heartbeat is not written while the store is down)."""
        since = max(now_s - self.business_read_s, 0.0)
        return int((self.business_ms or 0) + since * self.config.speed * 1000)

    async def start_service(self) -> None:
        self.proc = await procs.start_service(self.settings_file, self.log)
        self.life_from_ms = None
        self.life = Life(pid=self.proc.pid, started_wall_s=time.monotonic())
        self.ev.lives.append(self.life)

    def business_now(self) -> int | None:
        if self.db is None:
            return None
        try:
            found = load_service_time(self.db)
        except sa.exc.SQLAlchemyError:
            return None  # not created yet, or being written: the next tick reads it
        return None if found is None else found.now_ms

    async def follow(self, http: aiohttp.ClientSession, now_ms: int) -> None:
        tf = timeframe_ms(self.config.timeframe)
        candles = (now_ms - self.sim_ms) // tf
        if candles > 0:
            async with http.post(
                f"{self.sim.url}/sim/advance", json={"candles": int(candles)}
            ) as answer:
                data = await answer.json(content_type=None)
            self.sim_ms = int(data["time"])

    def sample(self) -> None:
        life, proc = self.life, self.proc
        if life is None or proc is None or proc.returncode is not None:
            return
        if time.monotonic() - life.started_wall_s < memory_warm_s(self.config.speed):
            return
        with contextlib.suppress(psutil.Error):
            life.rss_bytes.append(psutil.Process(proc.pid).memory_info().rss)

    async def scrape(self, http: aiohttp.ClientSession) -> None:
        life = self.life
        if life is None:
            return
        with contextlib.suppress(aiohttp.ClientError, TimeoutError, ValueError):
            async with http.get(f"{self.api}/metrics") as answer:
                if answer.status == 200:
                    life.order_latency_sum_s, life.order_latency_count = collect.parse_metrics(
                        await answer.text()
                    )
            async with http.get(f"{self.api}/health") as answer:
                life.health = str((await answer.json(content_type=None)).get("status"))


def memory_warm_s(speed: float) -> float:
    """Wall seconds after a start from which a life's memory is judged: the end of its first
    simulated hour (30 s at ×120, an hour at ×1), in which the process fills what it keeps to
    its bounds (docs/operations/memory.md, "The service soak")."""
    return max(WARMUP_S, WARM_BUSINESS_S / speed)


def work_folder(out: Path) -> Path:
    """The run's folder, made, as an absolute path: the service runs in it (its own log lands
    there), so a path relative to where the command was typed (the default ``var/soak``) would
    name nothing from inside it."""
    out = out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    return out


async def run_service_soak(
    config: ServiceSoakConfig,
    stop: asyncio.Event,
    progress: Callable[[str], None] = lambda _: None,
) -> Evidence:
    """Run it until its simulated hours have passed on the service's clock, the wall-time bound
    is reached, or ``stop`` is set (then within a few seconds); the evidence it leaves. An
    unfinished run saved in the folder (its host restarted) is resumed instead of begun."""
    out = work_folder(config.out_dir)
    saved = state.load(out) if config.resume else None
    if saved is not None:
        state.check_resumable(saved, config.plan(), out)
    wall_start = time.monotonic() - (0.0 if saved is None else saved.wall_s)
    ev = Evidence(
        hours=config.hours,
        kills_planned=config.kills,
        faults_planned=config.faults,
        backup_every_h=config.backup_every_h,
    )
    log = "simulator.log" if saved is None else f"simulator-{len(saved.parts) + 2}.log"
    accounts = config.accounts if saved is None else 0
    sim = procs.FrozenSimulator(out / log, accounts, config.timeframe, config.seed)
    run = _Run(config, stop, progress, ev, sim)
    run.settings_file = out / "service.yaml"
    run.log = out / "service.log"
    run.kills_left = config.kill_points_s() if saved is None else list(saved.kills_left_s)
    store: Store | None = None
    if saved is not None:
        for ended in state.kill_leftovers(saved, run.settings_file):
            ev.notes.append(f"the stopped part's {ended} outlived it: killed before resuming")
    await sim.start()
    timeout = aiohttp.ClientTimeout(total=collect.HTTP_TIMEOUT_S)
    try:
        async with aiohttp.ClientSession(timeout=timeout) as http:
            async with http.get(f"{sim.url}/sim/state") as answer:
                run.sim_ms = int((await answer.json(content_type=None))["time"])
            if saved is None:
                store, saved = _set_up(run, out)
                todo = config.faults
            else:
                run.api, run.read_url, todo = await resume.set_up(sim, http, saved, ev, out)
                run.begin_ms = ev.begin_ms
            run.faults = FaultRunner(
                todo,
                sim.url,
                out / "service.db",
                procs.clock_file(out),
                None if store is None else store.relay,
            )
            saved.pid = os.getpid()
            run.recorder = Recorder(out, saved, wall_start)
            run.db = sa.create_engine(run.read_url)
            await run.start_service()
            await _loop(run, http, wall_start)
            told = time.monotonic() if run.stop.is_set() else None
            await _finish(run, http, saved.key)
            if told is not None:
                ev.stop_took_s = time.monotonic() - told
            ev.wall_s = time.monotonic() - wall_start
            run.record(state.DONE)
    finally:
        if run.faults is not None:
            run.faults.release()
        if run.proc is not None and run.proc.returncode is None:
            await procs.kill(run.proc)
        if run.db is not None:
            run.db.dispose()
        await procs.stop_simulator(sim)
        if store is not None:
            with contextlib.suppress(sa.exc.SQLAlchemyError):
                store.close()
    ev.wall_s = time.monotonic() - wall_start
    return ev


def _set_up(run: _Run, out: Path) -> tuple[Store, state.Saved]:
    """A new run: the service's settings, a new store, the state to save as it goes."""
    config = run.config
    port = procs.free_port()
    run.api = f"http://127.0.0.1:{port}"
    settings, key = procs.service_settings(
        run.sim,
        out,
        symbols=config.symbols,
        timeframe=config.timeframe,
        seed=config.seed,
        speed=config.speed,
        api_port=port,
        backup_every_h=config.backup_every_h,
    )
    settings["alerts"]["rules_file"] = str(write_rules(out / "alert-rules.yaml"))
    store = Store(config.store_url, out / "service.db")
    settings["store"]["url"] = store.url
    run.read_url = store.url if store.sqlite else store.direct_url()
    procs.write_settings(run.settings_file, settings)
    saved = state.Saved(config.plan(), key, str(run.settings_file))
    saved.sim_accounts = {a: {"key": k, "secret": s} for a, (k, s) in run.sim.keys.items()}
    with contextlib.suppress(FileNotFoundError):
        procs.clock_file(out).unlink()
    return store, saved


async def _loop(run: _Run, http: aiohttp.ClientSession, wall_start: float) -> None:
    config, ev = run.config, run.ev
    kills = run.kills_left
    span_ms = config.hours * 3_600_000
    last_sample = last_scrape = last_note = 0.0
    while not run.stop.is_set():
        now = time.monotonic()
        if now - wall_start > config.wall_limit_s:
            ev.stopped_early = f"the wall-time bound ({config.wall_limit_s:.0f} s) was reached"
            break
        proc, life = run.proc, run.life
        if proc is not None and life is not None and proc.returncode is not None:
            life.ended_by = (
                f"exit {proc.returncode}" if proc.returncode >= 0 else f"signal {-proc.returncode}"
            )
            crashes = sum(1 for each in ev.lives if each.ended_by.startswith(("exit", "signal")))
            if crashes > MAX_CRASHES:
                ev.stopped_early = f"the service ended on its own {crashes} times; see service.log"
                break
            ev.notes.append(f"the service ended on its own ({life.ended_by}); started again")
            await run.start_service()
        business = run.business_now()
        if business is not None:
            if run.begin_ms is None:
                run.begin_ms = ev.begin_ms = business
            run.business_ms, run.business_read_s = business, now
            run.life_from_ms = business if run.life_from_ms is None else run.life_from_ms
            ev.end_ms = business
            with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                await run.follow(http, business)
            done_ms = business - run.begin_ms
            ev.simulated_s = done_ms / 1000
            quiet = run.faults is None or run.faults.active is None
            if kills and done_ms >= kills[0] * 1000 and quiet:
                # Before the end: a clock that caught up past a kill's point still gets it.
                kills.pop(0)
                await _planted_kill(run)
                continue
            ends_ms = covering_end_ms(run.begin_ms, int(span_ms))
            if business >= ends_ms and _faults_settled(run, now) and _jobs_settled(run, now):
                break
            await _step_faults(run, http, now)
        if now - last_sample >= SAMPLE_EVERY_S:
            run.sample()
            last_sample = now
        if now - last_scrape >= SCRAPE_EVERY_S:
            await run.scrape(http)
            last_scrape = now
        if run.recorder is not None and run.proc is not None:
            todo = [] if run.faults is None else run.faults.todo
            quiet_now = run.faults is None or run.faults.active is None
            await run.recorder.tick(
                ev, kills, todo, run.proc.pid, run.sim, http, config.symbols, quiet_now
            )
        if now - last_note >= 10.0:
            run.progress(
                f"{ev.simulated_s / 3600:.2f} of {config.hours:g} simulated hours, "
                f"{len(ev.lives)} starts, {now - wall_start:.0f} s wall"
            )
            last_note = now
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(run.stop.wait(), TICK_S)
    if run.stop.is_set() and ev.stopped_early is None:
        ev.stopped_early = "the run was told to stop (SIGTERM or Ctrl-C)"


def _trading(run: _Run) -> bool:
    """Whether this life of the service has traded a few candles past where the run first read
    its clock (a fault before that meets a service still starting: its alert engine not yet
    watching, its first exchange calls, on a loaded host, still to come)."""
    if run.life_from_ms is None or run.business_ms is None:
        return False
    return run.business_ms - run.life_from_ms >= 3 * timeframe_ms(run.config.timeframe)


def _jobs_settled(run: _Run, now: float) -> bool:
    """The run ends once every job due by its end has run, or :data:`JOBS_WAIT_S` after."""
    if run.db is None or run.begin_ms is None or run.business_ms is None:
        return True
    run.ended_at_s = now if run.ended_at_s is None else run.ended_at_s
    plan = schedules(run.config.backup_every_h)
    waiting = pending(plan, run.begin_ms, run.business_ms, collect.job_slots(run.db))
    return not waiting or now - run.ended_at_s >= JOBS_WAIT_S


def _faults_settled(run: _Run, now: float) -> bool:
    """The run ends only once its last fault is over and its incidents resolved."""
    if run.faults is None or run.db is None:
        return True
    return run.faults.settled(now, collect.open_incidents(run.db))


async def _step_faults(run: _Run, http: aiohttp.ClientSession, now: float) -> None:
    """End the fault whose episode is over, or start the next one when its turn has come."""
    faults, life = run.faults, run.life
    if faults is None or life is None or run.db is None:
        return
    episode = faults.active
    if episode is not None:
        fired = bool(EXPECTS[episode.kind]) and collect.opened_since(
            run.db, EXPECTS[episode.kind], episode.start_ms
        )
        if faults.over(now, fired):
            await _end_fault(run, http, now)
    elif _trading(run) and faults.due(
        now, now - life.started_wall_s, collect.open_incidents(run.db)
    ):
        # Incidents are stamped with the close of the candle the service last traded.
        start = run.business_estimate(now) - timeframe_ms(run.config.timeframe)
        kind = await faults.start(http, now, start)
        run.progress(f"fault {kind} on")


async def _end_fault(run: _Run, http: aiohttp.ClientSession, now: float) -> None:
    if run.faults is None:
        return
    episode = await run.faults.end(http, now)
    if episode is None:
        return
    run.ev.faults.append(
        FaultWindow(
            episode.kind,
            episode.start_ms,
            run.business_estimate(now),
            int(FIRE_SLACK_S * run.config.speed * 1000),
            EXPECTS[episode.kind],
            int(QUIET_S[1] * run.config.speed * 1000),
        )
    )
    run.progress(f"fault {episode.kind} off")


async def _planted_kill(run: _Run) -> None:
    proc, life = run.proc, run.life
    if proc is None or life is None:
        return
    await procs.kill(proc)
    life.ended_by = "planted kill"
    run.progress(f"killed the service (pid {proc.pid}) with SIGKILL")
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(run.stop.wait(), run.config.kill_down_s)
    if not run.stop.is_set():
        await run.start_service()


async def _finish(run: _Run, http: aiohttp.ClientSession, key: str) -> None:
    """Stop the service (SIGTERM), read the simulator while it is up, then the books and the
    backups; within :data:`STOPPING_BUDGET_S` when the run was told to stop."""
    ev = run.ev
    budget = STOPPING_BUDGET_S if run.stop.is_set() else END_BUDGET_S
    deadline = time.monotonic() + budget
    await _end_fault(run, http, time.monotonic())
    if run.faults is not None:
        ev.notes += [f"the simulator's fault switch failed: {e}" for e in run.faults.errors[:5]]
    await run.scrape(http)
    if run.proc is not None and run.life is not None and run.proc.returncode is None:
        code = await procs.stop(
            run.proc, min(procs.STOP_WAIT_S, max(deadline - time.monotonic() - 3, 1))
        )
        run.life.ended_by = (
            "stop"
            if code == 0
            else ("stop (killed: it did not end)" if code is None else f"exit {code}")
        )
    try:
        async with asyncio.timeout(max(deadline - time.monotonic() - 2, 1)):
            ev.sim_trade_ids = await collect.sim_trades(
                http, run.sim.url, run.sim.keys, run.config.symbols
            )
            stopped = await collect.sim_stops(http, run.sim.url)
    except (aiohttp.ClientError, TimeoutError, RuntimeError, KeyError) as exc:
        ev.sim_read_error = f"{type(exc).__name__}: {exc}"
        stopped = {}
    if run.db is not None:
        run.db.dispose()
    url = run.read_url
    try:
        held = collect.read_books(url, ev)
        if ev.parts:  # the fills of the parts before a host restart are judged with them
            ev.book_trade_ids, ev.repairs = state.split_books(resume.book_fills(url), ev.parts)
    except sa.exc.SQLAlchemyError as exc:
        ev.notes.append(f"the books could not be read: {exc}")
        held = {}
    ev.holdings = collect.holdings(held, stopped)
    every_s = run.config.backup_every_h * 3600
    ev.backups_expected = max(0, math.floor(ev.simulated_s / every_s) - BACKUP_SLOT_TOLERANCE)
    backup_dir = run.config.out_dir / "backups"
    if backup_dir.is_dir():
        collect.check_backups(
            backup_dir,
            key_from_text(key),
            run.business_ms or 0,
            deadline - 0.5,
            ev,
            None if run.read_url.startswith("sqlite") else run.read_url,
        )


__all__ = ["ServiceSoakConfig", "run_service_soak"]

"""The run of a service soak: start the simulator and the service, keep the simulator's market
on the service's business time, plant the kills, sample what the judge needs, stop, collect.

The service runs on its own clock (the synthetic feed's candles at ``speed``); the run reads
where that clock stands from the service's database (each heartbeat records it) and advances
the simulator's market to it, so an order is filled at the price of the candle it was sent on.
Time here is the wall clock only where a process lives in it: waits for processes, the memory
samples, the wall-time bound. What the run was asked and where it stands live in :mod:`.run`,
its end in :mod:`.finish`.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import Callable
from pathlib import Path

import aiohttp
import sqlalchemy as sa

from rampart.domain.candles import timeframe_ms
from rampart_testkit.soak.scale_workers import Store
from rampart_testkit.soak_service import collect, procs, resume, state
from rampart_testkit.soak_service.bot import SoakBot
from rampart_testkit.soak_service.evidence import Evidence
from rampart_testkit.soak_service.faults import BOT_CUT, EXPECTS, FaultRunner, write_rules
from rampart_testkit.soak_service.finish import end_fault, finish
from rampart_testkit.soak_service.jobs import covering_end_ms, pending, schedules
from rampart_testkit.soak_service.resume import Recorder
from rampart_testkit.soak_service.run import WARMUP_S, Run, ServiceSoakConfig, memory_warm_s

TICK_S = 0.25
SAMPLE_EVERY_S = 1.0
SCRAPE_EVERY_S = 2.0
MAX_CRASHES = 5  # deaths of its own after which the service is not started again
JOBS_WAIT_S = 60.0  # how long past its end the run waits for the jobs due by then
TRADED_CANDLES = 3
"""Candles a life trades past its first fresh reading before a fault may meet it."""


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
    run = Run(config, stop, progress, ev, sim)
    run.settings_file = out / "service.yaml"
    run.log = out / "service.log"
    run.kills_left = config.kill_points_s() if saved is None else list(saved.kills_left_s)
    if saved is not None:
        for ended in state.kill_leftovers(saved, run.settings_file):
            ev.notes.append(f"the stopped part's {ended} outlived it: killed before resuming")
    await sim.start()
    timeout = aiohttp.ClientTimeout(total=collect.HTTP_TIMEOUT_S)
    address = procs.run_address()
    if address is None:
        ev.notes.append("the run read the simulator from the service's own address")
    connector = aiohttp.TCPConnector(local_addr=None if address is None else (address, 0))
    try:
        async with aiohttp.ClientSession(timeout=timeout, connector=connector) as http:
            async with http.get(f"{sim.url}/sim/state") as answer:
                run.sim_ms = int((await answer.json(content_type=None))["time"])
            if saved is None:
                saved = await _set_up(run, out)
                todo = config.faults
            else:
                run.api, run.read_url, todo = await resume.set_up(sim, http, saved, ev, out)
                run.begin_ms = ev.begin_ms
                todo = _without_bot(ev, todo)
            run.faults = FaultRunner(
                todo,
                sim.url,
                out / "service.db",
                procs.clock_file(out),
                None if run.store is None else run.store.relay,
                None if run.bot is None else run.bot.relay,
                config.bot_cut_s,
            )
            saved.pid = os.getpid()
            run.recorder = Recorder(out, saved, wall_start)
            run.db = sa.create_engine(run.read_url)
            await run.start_service()
            await _loop(run, http, wall_start)
            told = time.monotonic() if run.stop.is_set() else None
            await finish(run, http, saved.key)
            if told is not None:
                ev.stop_took_s = time.monotonic() - told
            ev.wall_s = time.monotonic() - wall_start
            run.record(state.DONE)
    finally:
        await _release(run)
    ev.wall_s = time.monotonic() - wall_start
    return ev


async def _release(run: Run) -> None:
    """Whatever the run holds, let go however it ended."""
    if run.faults is not None:
        run.faults.release()
    if run.proc is not None and run.proc.returncode is None:
        await procs.kill(run.proc)
    if run.db is not None:
        run.db.dispose()
    await procs.stop_simulator(run.sim)
    if run.bot is not None:
        await run.bot.close()
    if run.store is not None:
        with contextlib.suppress(sa.exc.SQLAlchemyError):
            run.store.close()


async def _set_up(run: Run, out: Path) -> state.Saved:
    """A new run: the service's settings, a new store, the bot (its stand-in started, its
    section in the settings, the investors linked in the store), the state to save as it goes."""
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
    run.store = store = Store(config.store_url, out / "service.db")
    settings["store"]["url"] = store.url
    run.read_url = store.url if store.sqlite else store.direct_url()
    if config.bot:
        run.bot = SoakBot(sorted(run.sim.keys))
        await run.bot.start()
        run.env = run.bot.configure(settings)
        await run.bot.link(run.read_url)
    procs.write_settings(run.settings_file, settings)
    saved = state.Saved(config.plan(), key, str(run.settings_file))
    saved.sim_accounts = {a: {"key": k, "secret": s} for a, (k, s) in run.sim.keys.items()}
    with contextlib.suppress(FileNotFoundError):
        procs.clock_file(out).unlink()
    return saved


def _without_bot(ev: Evidence, todo: tuple[str, ...]) -> tuple[str, ...]:
    """A resumed part runs without the bot (its Bot API stand-in kept nothing across the host
    restart, and the service's settings lost their bot): the bot's network cut still to come is
    not run, and the messages are not judged."""
    if BOT_CUT in todo:
        ev.faults_planned = tuple(k for k in ev.faults_planned if k != BOT_CUT)
        ev.notes.append(f"the {BOT_CUT} still to come was not run: the resumed part has no bot")
    ev.notes.append(
        "the resumed part ran without the bot: investor messages are not judged in this run"
    )
    return tuple(k for k in todo if k != BOT_CUT)


async def _loop(run: Run, http: aiohttp.ClientSession, wall_start: float) -> None:
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
            run.read(business, now)
            with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                await run.follow(http, business)
            begin = business if run.begin_ms is None else run.begin_ms
            done_ms = business - begin
            ev.simulated_s = done_ms / 1000
            quiet = run.faults is None or run.faults.active is None
            if kills and done_ms >= kills[0] * 1000 and quiet:
                # Before the end: a clock that caught up past a kill's point still gets it.
                kills.pop(0)
                await _planted_kill(run)
                continue
            if business >= covering_end_ms(begin, int(span_ms)):
                holding = _holding(run, now)
                if holding is None:
                    break
                if now - last_note >= 10.0:
                    run.progress(f"past the hours asked; the end waits for {holding}")
            await _step_faults(run, http, now)
        if run.bot is not None and run.db is not None:
            run.bot.ask(now)
            run.bot.snapshot(run.db, now)
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


def _trading(run: Run) -> bool:
    """Whether this life of the service has traded :data:`TRADED_CANDLES` candles past its
    first fresh reading of its clock (a fault before that meets a service still starting: its
    alert engine not yet watching, its first exchange calls, on a loaded host, still to come)."""
    if run.life_from_ms is None or run.business_ms is None:
        return False
    tf = timeframe_ms(run.config.timeframe)
    return run.business_ms - run.life_from_ms >= TRADED_CANDLES * tf


def _holding(run: Run, now: float) -> str | None:
    """Past its end, what the run still waits for (None: it ends): its faults, its jobs and its
    bot settle in turn, each asked only once the one before it has."""
    if not _faults_settled(run, now):
        return "the last fault's alert and incidents"
    if not _jobs_settled(run, now):
        return "the scheduled jobs due by the end"
    if not _bot_settled(run, now):
        return "the investors' messages to go out"
    return None


def _jobs_settled(run: Run, now: float) -> bool:
    """The run ends once every job due by its end (the span asked, not where the clock has
    run on to meanwhile) has run, or :data:`JOBS_WAIT_S` after."""
    if run.db is None or run.begin_ms is None or run.business_ms is None:
        return True
    run.ended_at_s = now if run.ended_at_s is None else run.ended_at_s
    plan = schedules(run.config.backup_every_h)
    end = covering_end_ms(run.begin_ms, round(run.config.hours * 3_600_000))
    due_by = min(run.business_ms, end)
    waiting = pending(plan, run.begin_ms, due_by, collect.job_slots(run.db))
    return not waiting or now - run.ended_at_s >= JOBS_WAIT_S


def _faults_settled(run: Run, now: float) -> bool:
    """The run ends only once its last fault is over, the alert it expects recorded and its
    incidents resolved."""
    if run.faults is None or run.db is None:
        return True
    last = run.faults.last
    seen = (
        last is None
        or not EXPECTS[last.kind]
        or collect.opened_since(run.db, EXPECTS[last.kind], last.start_ms)
    )
    return run.faults.settled(now, collect.open_incidents(run.db), seen)


def _bot_settled(run: Run, now: float) -> bool:
    """The run ends only once what the service recorded for the investors before then went
    out (a backlog from the bot's network cut included), or the bot's drain bound passed."""
    if run.bot is None or run.db is None:
        return True
    return run.bot.settled(run.db, now)


async def _step_faults(run: Run, http: aiohttp.ClientSession, now: float) -> None:
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
            await end_fault(run, http, now)
    elif _trading(run) and faults.due(
        now, now - life.started_wall_s, collect.open_incidents(run.db)
    ):
        # Incidents are stamped with the close of the candle the service last traded.
        start = run.business_estimate(now) - timeframe_ms(run.config.timeframe)
        kind = await faults.start(http, now, start)
        if run.bot is not None:
            run.bot.mark(f"fault {kind} on")
        run.progress(f"fault {kind} on")


async def _planted_kill(run: Run) -> None:
    proc, life = run.proc, run.life
    if proc is None or life is None:
        return
    await procs.kill(proc)
    life.ended_by = "planted kill"
    if run.bot is not None:
        run.bot.mark(f"the planted kill of pid {proc.pid}")
    run.progress(f"killed the service (pid {proc.pid}) with SIGKILL")
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(run.stop.wait(), run.config.kill_down_s)
    if not run.stop.is_set():
        await run.start_service()


__all__ = [
    "WARMUP_S",
    "ServiceSoakConfig",
    "memory_warm_s",
    "run_service_soak",
    "work_folder",
]

"""What a service soak was asked (:class:`ServiceSoakConfig`) and where its run stands as it
goes (:class:`Run`): the service's present life and business clock, the simulator kept on it,
the bot and the faults, the state saved for a resume after a host restart. The wall clock is
read here only where a process lives in it: the memory samples and a life's start."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import psutil
import sqlalchemy as sa

from rampart.domain.candles import timeframe_ms
from rampart.store.service_clock import load_service_time
from rampart_testkit.soak.scale_workers import Store
from rampart_testkit.soak_service import collect, procs, state
from rampart_testkit.soak_service.bot import SoakBot
from rampart_testkit.soak_service.evidence import Evidence, Life
from rampart_testkit.soak_service.faults import BOT_CUT_S, FaultRunner
from rampart_testkit.soak_service.resume import Recorder

WARMUP_S = 15.0  # memory is sampled no sooner than this after a start (imports, history)
WARM_BUSINESS_S = 3600.0  # and from the end of a life's first simulated hour (memory_warm_s)


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
    bot: bool = True
    """Run the bot against the Bot API stand-in, with investors asking it things (in the part
    before a host restart only: a resumed part runs without it)."""
    bot_cut_s: float = BOT_CUT_S
    """Wall seconds of the ``bot_cut`` fault."""
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
            "bot": self.bot,
        }

    def kill_points_s(self) -> list[float]:
        """Business seconds from the start at which to kill: evenly through the run."""
        span = self.hours * 3600
        return [span * (i + 1) / (self.kills + 1) for i in range(self.kills)]


@dataclass
class Run:
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
    store: Store | None = None
    """A new run's store (a resumed one reopens the SQLite file it left)."""
    stale_ms: int | None = None
    """The business time read when the service was last started (the last life's)."""
    life_from_ms: int | None = None
    """The first business time this life recorded (None until it recorded one)."""
    bot: SoakBot | None = None
    env: dict[str, str] = field(default_factory=dict)
    """What the service's environment adds (the bot's token)."""
    kills_left: list[float] = field(default_factory=list)
    """Business seconds from the start of the planted kills still to come."""
    recorder: Recorder | None = None
    ended_at_s: float | None = None  # when the business clock reached the run's end

    def record(self, status: str = state.RUNNING) -> None:
        """Save the run's state now."""
        if self.recorder is not None:
            todo = [] if self.faults is None else list(self.faults.todo)
            pid = 0 if self.proc is None else self.proc.pid
            self.recorder.save(self.ev, self.kills_left, todo, pid, self.sim, status)

    def read(self, business_ms: int, now_s: float) -> None:
        """Take a reading of the service's business clock. The first one of a life that differs
        from the time read at its start begins the life's own time: the same time is the last
        life's, still in the store until this one writes its first heartbeat."""
        if self.begin_ms is None:
            self.begin_ms = self.ev.begin_ms = business_ms
        self.business_ms, self.business_read_s = business_ms, now_s
        if self.life_from_ms is None and business_ms != self.stale_ms:
            self.life_from_ms = business_ms
        self.ev.end_ms = business_ms

    def business_estimate(self, now_s: float) -> int:
        """The service's business time now: the last read moved on at the feed's speed (its
        heartbeat is not written while the store is down)."""
        since = max(now_s - self.business_read_s, 0.0)
        return int((self.business_ms or 0) + since * self.config.speed * 1000)

    async def start_service(self) -> None:
        self.proc = await procs.start_service(self.settings_file, self.log, self.env)
        self.stale_ms, self.life_from_ms = self.business_ms, None
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


__all__ = ["WARMUP_S", "Run", "ServiceSoakConfig", "memory_warm_s"]

"""The running service's business time, recorded for commands that run in another process.

A service on a simulated feed trades on the candles' time (2024 on the synthetic feed at
300×), so ``rampart report daily``, ``go-nogo``, ``rollout status``, drills and incident
acknowledgements must read *its* now, not the wall's, or they look at the wrong days.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from rampart.clock import Clock, WallClock, ms_to_datetime
from rampart.store.models.ops import service_clock
from rampart.store.ops_records import UptimeRecorder

NAME = "run"


@dataclass(frozen=True, slots=True)
class ServiceTime:
    simulated: bool
    now_ms: int
    wall_ms: int


def save_service_time(engine: sa.Engine, simulated: bool, now_ms: int, wall_ms: int) -> None:
    values = {"simulated": simulated, "now_ms": now_ms, "wall_ms": wall_ms}
    with engine.begin() as conn:
        # One writer (the service holding the instance lock): update, else insert.
        done = conn.execute(
            service_clock.update().where(service_clock.c.name == NAME).values(**values)
        )
        if done.rowcount == 0:
            conn.execute(service_clock.insert().values(name=NAME, **values))


def load_service_time(engine: sa.Engine) -> ServiceTime | None:
    query = sa.select(service_clock).where(service_clock.c.name == NAME)
    with engine.connect() as conn:
        row = conn.execute(query).mappings().first()
    if row is None:
        return None
    return ServiceTime(bool(row["simulated"]), int(row["now_ms"]), int(row["wall_ms"]))


class ServiceTimeRecorder:
    """What each heartbeat of a running service records: its uptime span, stretched, and
    where its business time stands (``simulated`` for a simulated feed's time)."""

    def __init__(self, engine: sa.Engine, simulated: bool) -> None:
        self.engine = engine
        self.simulated = simulated
        self.uptime = UptimeRecorder(engine)

    def start(self, business_now: int) -> None:
        self.uptime.start(business_now)

    def beat(self, business_now: int, wall_now: int) -> None:
        self.uptime.beat(business_now)
        save_service_time(self.engine, self.simulated, business_now, wall_now)


class RecordedClock:
    """The service's clock as seen from another process.

    On a simulated feed: the business time the service last recorded (it does not move while
    the service is stopped). Otherwise, and when no service has run on this database yet, the
    wall clock.
    """

    def __init__(self, engine: sa.Engine, wall: Clock | None = None) -> None:
        self.engine = engine
        self.wall = wall or WallClock()
        self._time: ServiceTime | None = None
        self._read = False

    @property
    def simulated(self) -> bool:
        recorded = self._recorded()
        return recorded is not None and recorded.simulated

    def _recorded(self) -> ServiceTime | None:
        if not self._read:
            try:
                self._time = load_service_time(self.engine)
            except sa.exc.SQLAlchemyError:
                # A database from before the table existed: the wall clock, as before.
                self._time = None
            self._read = True
        return self._time

    def now_ms(self) -> int:
        recorded = self._recorded()
        if recorded is not None and recorded.simulated:
            return recorded.now_ms
        return self.wall.now_ms()

    def now(self) -> datetime:
        return ms_to_datetime(self.now_ms())

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(seconds, 0.0))

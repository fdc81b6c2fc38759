"""The health sampler: what the alert rules read — database up, feed staleness, workers,
engine state — sampled every heartbeat, with the service's business time recorded in the store
at each sample (for the commands run in another process)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from functools import partial

import sqlalchemy as sa
import structlog

from rampart.clock import Clock
from rampart.loops.session import EngineSession
from rampart.observability.logging import mask_text
from rampart.observability.metrics import Metrics
from rampart.observability.people_sampler import PeopleSampler
from rampart.operator.settings import PeopleConfig
from rampart.runtime.health import PROBE_TIMEOUT_S, Health, Probe
from rampart.runtime.probes import database_probe, patient
from rampart.runtime.supervisor import Beat, Supervisor, sleep_unless_stopped
from rampart.store.errors import not_answering
from rampart.store.people import operator_ids
from rampart.store.service_clock import ServiceTimeRecorder

log = structlog.get_logger("rampart.service")


def write_refusal(session: EngineSession) -> str | None:
    """Why the store refuses writes now, for the database readiness check; None while they
    land. The session's store-down flag is the truth: it stays up until a write lands again."""
    if not session.store_down:
        return None
    writer = session.writer
    why = writer.last_error if writer is not None and writer.last_error else ""
    # The writer's words may quote a DSN or a driver's message: masked like a log line.
    return mask_text(why) or "no write has landed since the last refusal"


DB_PROBE_DEADLINE_S = PROBE_TIMEOUT_S / 2
"""The longest one health check waits on the database probe: under the check's own time-out,
so the probe's own verdict (slow, or down after DB_DOWN_AFTER_S) is what the check reads."""
DB_DOWN_AFTER_S = 10.0
"""A probe unanswered this long (on the ops clock) is the database down, not slow: a peer gone
silent (a partition, a cut relay holding the socket open) never errs, it only never answers."""


def store_probe(
    session: EngineSession, clock: Clock, *, deadline_s: float = DB_PROBE_DEADLINE_S
) -> Probe:
    """The service's database check: ``SELECT 1`` (or the writer's refusal), at most one in
    flight, read as slow while it is late and as down once it has gone DB_DOWN_AFTER_S on
    ``clock`` without an answer. Without that last step a silent database reads slow forever
    and DatabaseDown never pages."""
    probe = database_probe(
        partial(getattr, session, "db"),
        partial(write_refusal, session),
        down=not_answering,
        refusal_is_outage=partial(getattr, session, "store_unanswered"),
    )
    return patient(probe, clock, deadline_s, DB_DOWN_AFTER_S)


class HealthSampler:
    def __init__(
        self,
        session: EngineSession,
        *,
        health: Health,
        metrics: Metrics,
        supervisor: Supervisor,
        uptime: ServiceTimeRecorder,
        ops_clock: Clock,
        business: Clock,
        every_s: float,
        people: PeopleConfig | None = None,
    ) -> None:
        self.session = session
        self.health = health
        self.metrics = metrics
        self.supervisor = supervisor
        self.uptime = uptime
        self.ops_clock = ops_clock
        self.business = business
        self.every_s = every_s
        self.people = (
            None
            if people is None
            else PeopleSampler(
                session.db,
                metrics.people,
                business=business,
                ops=ops_clock,
                sla_ms=people.sla_ms(),
                every_s=people.sample_every_s,
                operators=operator_ids(session.settings),
            )
        )
        self._feed_seen: dict[str, tuple[int, int]] = {}
        self._in_flight: dict[str, asyncio.Future[object]] = {}
        """The store's reads and writes of a sample still running: one of each at a time."""

    async def run(self, stop: asyncio.Event, beat: Beat) -> None:
        while not stop.is_set():
            await self.sample()
            beat()
            await sleep_unless_stopped(self.ops_clock, self.every_s, stop)

    async def sample(self) -> None:
        session = self.session
        ok, checks = await self.health.ready()
        by_name = {c.name: c for c in checks}
        database = by_name.get("database")
        # A probe that only ran out of time is slowness (DatabaseSlow's business), not an
        # outage: else a healthy SQLite store on a machine loaded 50-100 pages DatabaseDown (P0)
        # and halts entries. A refused write or a failing query is one.
        refused = database is not None and not database.ok and not database.slow
        if refused and database is not None:
            if not session.store_down:  # once per outage: a store failing on and off counts
                self.metrics.launch.db_failure()
            session.store_unreachable(database.detail)
        elif database is not None and database.slow:
            log.warning("database_probe_slow", detail=database.detail)
        # Down until a write lands again, even when a probe's SELECT 1 passes (a locked store).
        # A store that refused rows for their own reason (a constraint, a value too long) still
        # answers: entries stay halted, DatabaseErrors says it, DatabaseDown does not.
        self.metrics.database_up(not refused and not session.store_unanswered)
        engine = session.engine
        now = self.ops_clock.now_ms()
        business_now = self.business.now_ms()
        for symbol in engine.symbols():
            ts = engine.data_ts.get(symbol, 0)
            seen = self._feed_seen.get(symbol)
            if seen is None or seen[0] != ts:
                self._feed_seen[symbol] = (ts, now)
                age = 0.0
            else:
                age = (now - seen[1]) / 1000
            self.metrics.feed_staleness(symbol, age)
        self.metrics.sample_engine(engine)
        if self.people is not None:
            await self._bounded("people", self.people.sample)  # paced by its own interval
        await self._bounded("uptime", partial(self._write_beat, business_now, now))
        self.supervisor.status()
        if not ok:
            log.info("not_ready", failing=[c.name for c in checks if not c.ok])

    async def _bounded(self, name: str, work: Callable[[], Awaitable[object]]) -> None:
        """``work`` awaited at most DB_PROBE_DEADLINE_S: a database gone silent holds a read or
        a write for as long as TCP lets it (tens of seconds), and the next sample must still
        come a heartbeat later to say the database is down. One still in flight is not
        doubled (this sample's is skipped); its error, once it ends, is raised as before."""
        task = self._in_flight.get(name)
        if task is None or task.done():
            task = self._in_flight[name] = asyncio.ensure_future(work())
        await asyncio.wait({task}, timeout=DB_PROBE_DEADLINE_S)
        if task.done():
            task.result()

    async def _write_beat(self, business_now: int, now: int) -> None:
        try:
            # Off the loop: a locked or unreachable database must not stall trading here.
            await asyncio.to_thread(self.uptime.beat, business_now, now)
        except sa.exc.SQLAlchemyError as err:
            # Not a crash of the sampler: database_up above already says the store is down.
            log.warning("uptime_beat_failed", error=type(err).__name__)

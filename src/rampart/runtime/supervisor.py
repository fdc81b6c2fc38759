"""Supervisor: keeps each long-running component of the service alive on its own.

A component is an object with ``async run(stop, beat)`` (:class:`Component`), built by the
composition root with exactly what it needs: it starts when the supervisor starts it, works
until ``stop`` is set, then finishes the work in hand and returns; it calls ``beat()``
whenever it has made progress. A bare ``async (beat) -> None`` function is accepted too (it
watches the stop event it closed over). When
one raises, or returns while nobody asked it to stop, it is logged and started again after an
exponential backoff with full jitter, while the others keep running. Its restart counter goes
back to zero once it has stayed up for a while, so a component that fails once a day does not
wait minutes to come back.

Heartbeats drive the worker alerts: ``on_heartbeat(name, unix_s)`` and ``on_state(name, up)``
let the service feed them to its metrics, and a component whose last beat is older than
``stale_after_s`` counts as down in :meth:`Supervisor.status` even though its task is alive
(it is stuck, which is what an operator needs to know).

Backoff sleeps on the given :class:`~rampart.clock.Clock`, so tests on a SimClock run
instantly. The drain bound on shutdown is wall time on purpose: it bounds how long the real
process takes to exit after SIGTERM, whatever clock the business logic runs on.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import traceback
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from typing import Any, Protocol, runtime_checkable

import structlog

from rampart.clock import Clock
from rampart.runtime.backoff import full_jitter_s
from rampart.runtime.health import Check

log = structlog.get_logger("rampart.supervisor")

Beat = Callable[[], None]
RunFn = Callable[[Beat], Awaitable[None]]
"""A component as a bare function of its heartbeat."""


@runtime_checkable
class Component(Protocol):
    """A long-running part of the service: the engine loop, the API, the bot, the alert
    engine, the scheduler, the reconciler. Its health is what the supervisor sees: running,
    beating, restarts, last error (:meth:`Supervisor.status`)."""

    async def run(self, stop: asyncio.Event, beat: Beat) -> None:
        """Start, work until ``stop`` is set (calling ``beat`` on progress), finish and return."""
        ...


_Runner = Callable[[asyncio.Event, Beat], Awaitable[None]]
HeartbeatHook = Callable[[str, float], None]
StateHook = Callable[[str, bool], None]

DEFAULT_DRAIN_S = 20.0
HEARTBEAT_PUBLISH_S = 1.0
"""Beats are recorded every time, but passed to ``on_heartbeat`` at most once a second (clock
time) per component: an engine beats once per candle, thousands of times a second in replay."""


@dataclass(frozen=True, slots=True)
class ComponentStatus:
    name: str
    up: bool
    state: str
    """starting, running, backoff, stopped (asked to), finished (ran once, no restart), failed."""
    restarts: int
    """Restarts since the service started (never reset; the backoff exponent is)."""
    last_error: str | None
    last_beat_ms: int | None
    stale: bool

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(slots=True)
class _Slot:
    name: str
    run: _Runner
    restart: bool
    stale_after_s: float
    state: str = "starting"
    restarts: int = 0
    failures: int = 0
    """Consecutive failures: the backoff exponent. Reset after a healthy run."""
    last_error: str | None = None
    last_beat_ms: int | None = None
    published_ms: int | None = None
    reported_up: bool | None = None


def one_line(exc: BaseException) -> str:
    """The exception as one line an operator can read: type and message, no traceback."""
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class Supervisor:
    def __init__(
        self,
        clock: Clock,
        *,
        initial_backoff_s: float,
        max_backoff_s: float,
        stale_after_s: float,
        on_heartbeat: HeartbeatHook | None = None,
        on_state: StateHook | None = None,
        rng: random.Random | None = None,
        healthy_after_s: float | None = None,
        drain_timeout_s: float = DEFAULT_DRAIN_S,
    ) -> None:
        if initial_backoff_s <= 0 or max_backoff_s < initial_backoff_s:
            raise ValueError("backoff needs 0 < initial_backoff_s <= max_backoff_s")
        self.clock = clock
        self.initial_backoff_s = initial_backoff_s
        self.max_backoff_s = max_backoff_s
        self.stale_after_s = stale_after_s
        # Up for as long as the longest backoff means the last failure is no longer "recent".
        self.healthy_after_s = max_backoff_s if healthy_after_s is None else healthy_after_s
        self.drain_timeout_s = drain_timeout_s
        self._on_heartbeat = on_heartbeat
        self._on_state = on_state
        self._rng = rng or random.Random()
        self._slots: dict[str, _Slot] = {}
        self._stop: asyncio.Event | None = None
        self.delays: deque[tuple[str, float]] = deque(maxlen=1000)
        """Every backoff chosen, in order: (component, seconds). For tests and the log."""

    # -- configuration ---------------------------------------------------------------------

    def add(
        self,
        name: str,
        run: Component | RunFn,
        *,
        restart: bool = True,
        stale_after_s: float | None = None,
    ) -> None:
        """Register a component before :meth:`run`.

        ``restart=False`` runs it once: when it ends, normally or not, it stays down.
        ``stale_after_s`` overrides the supervisor's staleness bound for this component.
        """
        if name in self._slots:
            raise ValueError(f"component {name!r} is already supervised")
        if self._stop is not None:
            raise RuntimeError("components are added before the supervisor runs")
        stale = self.stale_after_s if stale_after_s is None else stale_after_s
        self._slots[name] = _Slot(name, _runner(run), restart, stale)

    def names(self) -> list[str]:
        return list(self._slots)

    # -- heartbeats and state --------------------------------------------------------------

    def beat(self, name: str) -> None:
        slot = self._slots[name]
        now = self.clock.now_ms()
        slot.last_beat_ms = now
        if self._on_heartbeat is not None and (
            slot.published_ms is None or now - slot.published_ms >= HEARTBEAT_PUBLISH_S * 1000
        ):
            slot.published_ms = now
            self._call(self._on_heartbeat, name, now / 1000)
        if slot.reported_up is False and slot.state == "running":
            self._report(slot, True)  # a stuck component that beats again is back up

    def _report(self, slot: _Slot, up: bool) -> None:
        if slot.reported_up is up:
            return
        slot.reported_up = up
        if self._on_state is not None:
            self._call(self._on_state, slot.name, up)

    @staticmethod
    def _call(hook: Callable[..., None], *args: Any) -> None:
        # A broken metrics hook must not take a supervised component down with it.
        try:
            hook(*args)
        except Exception as exc:
            log.error("supervisor hook failed", hook=repr(hook), error=one_line(exc))

    def _is_stale(self, slot: _Slot, now: int) -> bool:
        if slot.state != "running" or slot.last_beat_ms is None:
            return False
        return now - slot.last_beat_ms > slot.stale_after_s * 1000

    def status(self) -> dict[str, ComponentStatus]:
        """Each component's state; also reports stale components to ``on_state``."""
        now = self.clock.now_ms()
        result: dict[str, ComponentStatus] = {}
        for slot in self._slots.values():
            stale = self._is_stale(slot, now)
            up = slot.state == "running" and not stale
            if slot.reported_up is not None and (up or stale):
                self._report(slot, up)
            result[slot.name] = ComponentStatus(
                name=slot.name,
                up=up,
                state=slot.state,
                restarts=slot.restarts,
                last_error=slot.last_error,
                last_beat_ms=slot.last_beat_ms,
                stale=stale,
            )
        return result

    async def probe(self) -> Check:
        """Readiness probe for :class:`rampart.runtime.health.Health`: every component is up."""
        down = [s for s in self.status().values() if not s.up and s.state != "finished"]
        if not down:
            return Check("workers", True, f"{len(self._slots)} components up")
        parts = []
        for s in down:
            why = "no heartbeat" if s.stale else s.state
            parts.append(f"{s.name} ({why}{': ' + s.last_error if s.last_error else ''})")
        return Check("workers", False, "down: " + "; ".join(parts))

    # -- running ---------------------------------------------------------------------------

    def backoff_s(self, failures: int) -> float:
        """Full jitter: uniform in [0, min(max, initial·2^(failures-1))]."""
        return full_jitter_s(self._rng, failures - 1, self.initial_backoff_s, self.max_backoff_s)

    async def run(self, stop: asyncio.Event) -> None:
        """Run every component until ``stop`` is set, then let them finish within the bound.

        Components see the same ``stop`` event and return on their own (finishing the work in
        hand and persisting). Whatever is still running after ``drain_timeout_s`` seconds is
        cancelled, so the process always exits in bounded time.
        """
        self._stop = stop
        tasks = [
            asyncio.create_task(self._supervise(slot, stop), name=f"supervise:{slot.name}")
            for slot in self._slots.values()
        ]
        try:
            await stop.wait()
            log.info("supervisor stopping", components=len(tasks), drain_s=self.drain_timeout_s)
            if tasks:
                _, pending = await asyncio.wait(tasks, timeout=self.drain_timeout_s)
                for task in pending:
                    name = task.get_name().removeprefix("supervise:")
                    log.warning(
                        "component did not stop in time; cancelling",
                        component=name,
                        drain_s=self.drain_timeout_s,
                    )
                    task.cancel()
                if pending:
                    await asyncio.wait(pending)
        finally:
            for task in tasks:
                task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.gather(*tasks, return_exceptions=True)
            for slot in self._slots.values():
                if slot.state in {"running", "starting", "backoff"}:
                    slot.state = "stopped"
                self._report(slot, False)
        log.info("supervisor stopped")

    async def _supervise(self, slot: _Slot, stop: asyncio.Event) -> None:
        def beat() -> None:
            self.beat(slot.name)

        while not stop.is_set():
            slot.state = "running"
            started = self.clock.now_ms()
            beat()  # starting counts as a sign of life; staleness is measured from here
            self._report(slot, True)
            log.info("component started", component=slot.name, restarts=slot.restarts)
            try:
                await slot.run(stop, beat)
            except asyncio.CancelledError as exc:
                task = asyncio.current_task()
                if task is None or task.cancelling():
                    slot.state = "stopped"
                    raise
                # Cancelled from inside (an awaited future was cancelled): that is a failure.
                error = one_line(exc) + " (cancelled from inside the component)"
                trace = traceback.format_exc()
            except Exception as exc:
                error = one_line(exc)
                trace = traceback.format_exc()
            else:
                if stop.is_set():
                    slot.state = "stopped"
                    log.info("component stopped", component=slot.name)
                    return
                if not slot.restart:
                    slot.state = "finished"
                    self._report(slot, False)
                    log.info("component finished", component=slot.name)
                    return
                error = "returned without being asked to stop"
                trace = None
            slot.last_error = error
            self._report(slot, False)
            if stop.is_set():
                slot.state = "failed"
                log.error("component failed while stopping", component=slot.name, error=error)
                return
            if not slot.restart:
                slot.state = "failed"
                log.error("component failed; not restarted", component=slot.name, error=error)
                return
            ran_s = (self.clock.now_ms() - started) / 1000
            if ran_s >= self.healthy_after_s:
                slot.failures = 0
            slot.failures += 1
            delay = self.backoff_s(slot.failures)
            self.delays.append((slot.name, delay))
            slot.state = "backoff"
            log.error(
                "component failed; restarting",
                component=slot.name,
                error=error,
                attempt=slot.failures,
                restart_in_s=round(delay, 3),
                traceback=trace,
            )
            if await self._sleep_unless_stopped(delay, stop):
                slot.state = "stopped"
                return
            slot.restarts += 1

    async def _sleep_unless_stopped(self, seconds: float, stop: asyncio.Event) -> bool:
        """Sleep on the clock; True if ``stop`` was set first (then nothing restarts)."""
        return await sleep_unless_stopped(self.clock, seconds, stop)


async def sleep_unless_stopped(clock: Clock, seconds: float, stop: asyncio.Event) -> bool:
    """Sleep on ``clock``; True if ``stop`` was set first."""
    sleeper = asyncio.ensure_future(clock.sleep(seconds))
    waiter = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({sleeper, waiter}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for fut in (sleeper, waiter):
            fut.cancel()
        await asyncio.gather(sleeper, waiter, return_exceptions=True)
    return stop.is_set()


def _runner(run: Component | RunFn) -> _Runner:
    if isinstance(run, Component):
        return run.run
    fn = run

    async def bare(stop: asyncio.Event, beat: Beat) -> None:
        del stop  # a bare function closed over the service's stop event itself
        await fn(beat)

    return bare


def ticking(run: RunFn, clock: Clock, every_s: float) -> RunFn:
    """Beat every ``every_s`` while ``run`` runs, for a component with no progress events of
    its own (the HTTP server, the bot's polling): its heartbeat then says the event loop still
    serves it, and its end or failure is caught by the supervisor as usual."""

    async def component(beat: Beat) -> None:
        async def tick() -> None:
            while True:
                beat()
                await clock.sleep(every_s)

        ticker = asyncio.create_task(tick())
        try:
            await run(beat)
        finally:
            ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await ticker

    return component

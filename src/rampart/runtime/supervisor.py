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

Every component has one lifecycle (:mod:`rampart.runtime.lifecycle`: initialized, running,
stopping, stopped, faulted, disposed) and is started, stopped and disposed through its
:class:`~rampart.runtime.supervised.SupervisedComponent`; ``/health`` lists each one's state.

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
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, Protocol, runtime_checkable

import structlog

from rampart.clock import Clock
from rampart.runtime.backoff import full_jitter_s
from rampart.runtime.health import Check, ComponentLine
from rampart.runtime.lifecycle import ComponentState
from rampart.runtime.pacing import Beat, RunFn, sleep_unless_stopped, ticking
from rampart.runtime.supervised import Runner, SupervisedComponent, one_line

log = structlog.get_logger("rampart.supervisor")


@runtime_checkable
class Component(Protocol):
    """A long-running part of the service: the engine loop, the API, the bot, the alert
    engine, the scheduler, the reconciler. Its health is what the supervisor sees: running,
    beating, restarts, last error (:meth:`Supervisor.status`)."""

    async def run(self, stop: asyncio.Event, beat: Beat) -> None:
        """Start, work until ``stop`` is set (calling ``beat`` on progress), finish and return."""
        ...


@runtime_checkable
class Disposable(Protocol):
    """A component that holds something to release once the service is done with it."""

    async def dispose(self) -> None: ...


HeartbeatHook = Callable[[str, float], None]
StateHook = Callable[[str, bool], None]

FINISHED, RESTARTING, NOT_RESTARTED = "finished", "restarting", "not restarted"
DEFAULT_DRAIN_S = 20.0
HEARTBEAT_PUBLISH_S = 1.0
"""Beats are recorded every time, but passed to ``on_heartbeat`` at most once a second (clock
time) per component: an engine beats once per candle, thousands of times a second in replay."""


@dataclass(frozen=True, slots=True)
class ComponentStatus:
    name: str
    up: bool
    state: str
    """The lifecycle state (:class:`ComponentState`): initialized, running, stopping, stopped,
    faulted or disposed."""
    restarts: int
    """Restarts since the service started (never reset; the backoff exponent is)."""
    last_error: str | None
    last_beat_ms: int | None
    stale: bool
    note: str = ""
    """What the state leaves out: ``finished`` (stopped by itself, run once), ``restarting``
    (faulted, waiting out its backoff), ``not restarted`` (faulted for good)."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


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
        self._rng = rng or random.Random()  # noqa: S311 - restart backoff jitter, not a secret
        self._slots: dict[str, SupervisedComponent] = {}
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
        ``stale_after_s`` overrides the supervisor's staleness bound for this component. A
        component with an ``async dispose()`` has it called when the service is done with it.
        """
        if name in self._slots:
            raise ValueError(f"component {name!r} is already supervised")
        if self._stop is not None:
            raise RuntimeError("components are added before the supervisor runs")
        stale = self.stale_after_s if stale_after_s is None else stale_after_s
        disposer = run.dispose if isinstance(run, Disposable) else None
        self._slots[name] = SupervisedComponent(self, name, _runner(run), restart, stale, disposer)

    def names(self) -> list[str]:
        return list(self._slots)

    def component(self, name: str) -> SupervisedComponent:
        """The supervised component ``name`` (to start, stop or dispose it on its own)."""
        return self._slots[name]

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
        if slot.reported_up is False and slot.state is ComponentState.RUNNING:
            self._report(slot, True)  # a stuck component that beats again is back up

    def _report(self, slot: SupervisedComponent, up: bool) -> None:
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

    def _is_stale(self, slot: SupervisedComponent, now: int) -> bool:
        if slot.state is not ComponentState.RUNNING or slot.last_beat_ms is None:
            return False
        return now - slot.last_beat_ms > slot.stale_after_s * 1000

    def status(self) -> dict[str, ComponentStatus]:
        """Each component's state; also reports stale components to ``on_state``."""
        now = self.clock.now_ms()
        result: dict[str, ComponentStatus] = {}
        for slot in self._slots.values():
            stale = self._is_stale(slot, now)
            up = slot.state is ComponentState.RUNNING and not stale
            if slot.reported_up is not None and (up or stale):
                self._report(slot, up)
            result[slot.name] = ComponentStatus(
                name=slot.name,
                up=up,
                state=slot.state.value,
                restarts=slot.restarts,
                last_error=slot.last_error,
                last_beat_ms=slot.last_beat_ms,
                stale=stale,
                note=slot.note,
            )
        return result

    def lines(self) -> list[ComponentLine]:
        """Each component's state as ``/health`` and the panel list it."""
        return [
            ComponentLine(s.name, s.state, s.up, s.restarts, s.note, s.last_error)
            for s in self.status().values()
        ]

    async def probe(self) -> Check:
        """Readiness probe for :class:`rampart.runtime.health.Health`: every component is up."""
        down = [s for s in self.status().values() if not s.up and s.note != FINISHED]
        if not down:
            return Check("workers", True, f"{len(self._slots)} components up")
        parts = []
        for s in down:
            why = "no heartbeat" if s.stale else s.state + (f", {s.note}" if s.note else "")
            parts.append(f"{s.name} ({why}{': ' + s.last_error if s.last_error else ''})")
        return Check("workers", False, "down: " + "; ".join(parts))

    # -- running ---------------------------------------------------------------------------

    def backoff_s(self, failures: int) -> float:
        """Full jitter: uniform in [0, min(max, initial·2^(failures-1))]."""
        return full_jitter_s(self._rng, failures - 1, self.initial_backoff_s, self.max_backoff_s)

    async def run(self, stop: asyncio.Event) -> None:
        """Start every component, run them until ``stop`` is set, then stop them (each
        finishing the work in hand within the drain bound) and dispose of them.

        Whatever is still running after ``drain_timeout_s`` seconds is cancelled, so the
        process always exits in bounded time.
        """
        self._stop = stop
        slots = list(self._slots.values())
        for slot in slots:
            slot.start()
        try:
            await stop.wait()
            log.info("supervisor stopping", components=len(slots), drain_s=self.drain_timeout_s)
            await asyncio.gather(*(slot.stop() for slot in slots))
        finally:
            for slot in slots:
                if slot.task is not None and not slot.task.done():
                    slot.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.gather(
                    *(s.task for s in slots if s.task is not None), return_exceptions=True
                )
            for slot in slots:
                if slot.state in (ComponentState.RUNNING, ComponentState.STOPPING) or (
                    slot.state is ComponentState.FAULTED and slot.note == RESTARTING
                ):
                    slot.moved(ComponentState.STOPPED)
                self._report(slot, False)
        log.info("supervisor stopped")

    async def dispose(self) -> None:
        """Dispose of every component (after :meth:`run`): the service is done with them."""
        for slot in self._slots.values():
            await slot.dispose()

    async def _supervise(self, slot: SupervisedComponent) -> None:
        def beat() -> None:
            self.beat(slot.name)

        own = slot.stop_event
        service = self._stop

        def stopping() -> bool:
            # Its own stop, or the service's (set before the supervisor sets each own one).
            return own.is_set() or (service is not None and service.is_set())

        while not stopping():
            slot.moved(ComponentState.RUNNING)
            started = self.clock.now_ms()
            beat()  # starting counts as a sign of life; staleness is measured from here
            self._report(slot, True)
            log.info("component started", component=slot.name, restarts=slot.restarts)
            try:
                await slot.run(own, beat)
            except asyncio.CancelledError as exc:
                task = asyncio.current_task()
                if task is None or task.cancelling():
                    if slot.state is not ComponentState.STOPPED:
                        slot.moved(ComponentState.STOPPED)
                    raise
                # Cancelled from inside (an awaited future was cancelled): that is a failure.
                error = one_line(exc) + " (cancelled from inside the component)"
                trace = traceback.format_exc()
            except Exception as exc:
                error = one_line(exc)
                trace = traceback.format_exc()
            else:
                if stopping():
                    if own.is_set() and not slot.asked_to_stop and service is not None:
                        # It set its own stop: it asks the service to stop (a replay's end).
                        service.set()
                    slot.moved(ComponentState.STOPPED)
                    log.info("component stopped", component=slot.name)
                    return
                if not slot.restart:
                    slot.moved(ComponentState.STOPPED, FINISHED)
                    self._report(slot, False)
                    log.info("component finished", component=slot.name)
                    return
                error = "returned without being asked to stop"
                trace = None
            slot.last_error = error
            self._report(slot, False)
            if stopping():
                slot.moved(ComponentState.FAULTED, NOT_RESTARTED)
                log.error("component failed while stopping", component=slot.name, error=error)
                return
            if not slot.restart:
                slot.moved(ComponentState.FAULTED, NOT_RESTARTED)
                log.error("component failed; not restarted", component=slot.name, error=error)
                return
            ran_s = (self.clock.now_ms() - started) / 1000
            if ran_s >= self.healthy_after_s:
                slot.failures = 0
            slot.failures += 1
            delay = self.backoff_s(slot.failures)
            self.delays.append((slot.name, delay))
            slot.moved(ComponentState.FAULTED, RESTARTING)
            log.error(
                "component failed; restarting",
                component=slot.name,
                error=error,
                attempt=slot.failures,
                restart_in_s=round(delay, 3),
                traceback=trace,
            )
            if await self._sleep_unless_stopped(delay, own) or stopping():
                slot.moved(ComponentState.STOPPED)
                return
            slot.restarts += 1

    async def _sleep_unless_stopped(self, seconds: float, stop: asyncio.Event) -> bool:
        """Sleep on the clock; True if ``stop`` was set first (then nothing restarts)."""
        return await sleep_unless_stopped(self.clock, seconds, stop)


def _runner(run: Component | RunFn) -> Runner:
    if isinstance(run, Component):
        return run.run
    fn = run

    async def bare(stop: asyncio.Event, beat: Beat) -> None:
        del stop  # a bare function closed over the service's stop event itself
        await fn(beat)

    return bare


__all__ = [
    "Beat",
    "Component",
    "ComponentStatus",
    "RunFn",
    "SupervisedComponent",
    "Supervisor",
    "one_line",
    "sleep_unless_stopped",
    "ticking",
]

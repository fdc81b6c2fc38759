"""One component under the :class:`~rampart.runtime.supervisor.Supervisor`: its lifecycle
(:mod:`rampart.runtime.lifecycle`), its counters and the three moves made on it (start, stop,
dispose). The supervisor's loop (``_supervise``) runs it and reports its state."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Protocol

import structlog

from rampart.runtime.lifecycle import ComponentState, IllegalMove, move
from rampart.runtime.pacing import Beat

log = structlog.get_logger("rampart.supervisor")

Runner = Callable[[asyncio.Event, Beat], Awaitable[None]]
"""A component's ``run(stop, beat)``, or a bare function wrapped to take the same."""


class Supervising(Protocol):
    """What a component asks of the supervisor that holds it
    (:class:`rampart.runtime.supervisor.Supervisor` is one): its loop over the component, its
    report of the component's state and how long a stop may drain. Named here, not imported:
    the supervisor makes its components, so they do not read its module back."""

    @property
    def drain_timeout_s(self) -> float: ...

    async def _supervise(self, slot: SupervisedComponent) -> None: ...

    def _report(self, slot: SupervisedComponent, up: bool) -> None: ...


class SupervisedComponent:
    """One component under the supervisor, with its lifecycle (:mod:`rampart.runtime.
    lifecycle`) and the three moves an operator or the service makes on it: :meth:`start`,
    :meth:`stop` and :meth:`dispose`.

    The component gets a stop event of its own, set when it is stopped (and when the
    service stops). A component that sets that event itself is asking the whole service to
    stop (a replay that ran out of candles): the supervisor passes that on.
    """

    def __init__(
        self,
        supervisor: Supervising,
        name: str,
        run: Runner,
        restart: bool,
        stale_after_s: float,
        dispose: Callable[[], Awaitable[None]] | None,
    ) -> None:
        self._sup = supervisor
        self.name = name
        self.run = run
        self.restart = restart
        self.stale_after_s = stale_after_s
        self._dispose = dispose
        self.state = ComponentState.INITIALIZED
        self.note = ""
        self.restarts = 0
        self.failures = 0
        """Consecutive failures: the backoff exponent. Reset after a healthy run."""
        self.last_error: str | None = None
        self.last_beat_ms: int | None = None
        self.published_ms: int | None = None
        self.reported_up: bool | None = None
        self.stop_event = asyncio.Event()
        self.asked_to_stop = False
        self.task: asyncio.Task[None] | None = None

    def moved(self, to: ComponentState, note: str = "") -> None:
        self.state = move(self.name, self.state, to)
        self.note = note

    # -- the three moves -------------------------------------------------------------------

    def start(self) -> None:
        """Run it (again, if it was stopped), under supervision, until :meth:`stop`."""
        if self.task is not None and not self.task.done():
            return
        if self.state is ComponentState.DISPOSED:
            raise IllegalMove(f"component {self.name!r} was disposed; it cannot start again")
        self.stop_event = asyncio.Event()
        self.asked_to_stop = False
        self.task = asyncio.create_task(self._sup._supervise(self), name=f"supervise:{self.name}")

    async def stop(self, timeout_s: float | None = None) -> None:
        """Ask it to stop, let it finish the work in hand for up to ``timeout_s`` (the
        supervisor's drain bound), then cancel what is left."""
        task = self.task
        if task is None or task.done():
            if self.state is ComponentState.INITIALIZED:
                self.moved(ComponentState.STOPPED)
            return
        self.asked_to_stop = True
        if self.state in (ComponentState.RUNNING, ComponentState.FAULTED):
            self.moved(ComponentState.STOPPING, self.note)
        self.stop_event.set()
        bound = self._sup.drain_timeout_s if timeout_s is None else timeout_s
        done, _ = await asyncio.wait({task}, timeout=bound)
        if not done:
            log.warning(
                "component did not stop in time; cancelling", component=self.name, drain_s=bound
            )
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self.state is ComponentState.STOPPING:
            self.moved(ComponentState.STOPPED)
        self._sup._report(self, False)

    async def dispose(self) -> None:
        """Release what it holds (its ``dispose()``, when it has one); it never starts again."""
        if self.state is ComponentState.DISPOSED:
            return
        if self.task is not None and not self.task.done():
            await self.stop()
        if self._dispose is not None:
            try:
                await self._dispose()
            except Exception as exc:
                log.error("component dispose failed", component=self.name, error=one_line(exc))
        self.moved(ComponentState.DISPOSED, self.note)


def one_line(exc: BaseException) -> str:
    """The exception as one line an operator can read: type and message, no traceback."""
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__

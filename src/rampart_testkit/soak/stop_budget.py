"""A soak told to stop ends within 10 s of the signal, with its report, even when starved.

The stop's budget is counted from the signal, not from where the run happens to be when it
hears it: on a machine whose CPU is oversubscribed ten times, everything takes ten times as
long on the wall clock, so a run that gives each of its closing steps a fixed bound of its own
adds them up past the 10 s an operator's SIGTERM (systemd's stop) allows.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable

import structlog

log = structlog.get_logger("rampart_testkit.soak.stop_budget")


class StopBudget:
    """The run's stop event, the time its signal came, and what is left of a budget since."""

    def __init__(self, stop: asyncio.Event) -> None:
        self.stop = stop
        self.signalled_at: float | None = None
        """``time.monotonic()`` of the first stop signal, or None."""

    def on_signal(self) -> None:
        """The signal handler: note the time once, then set the stop."""
        if self.signalled_at is None:
            self.signalled_at = time.monotonic()
        self.stop.set()

    def left_s(self, budget_s: float) -> float:
        """What is left of ``budget_s`` counted from the signal (all of it without one)."""
        if self.signalled_at is None:
            return budget_s
        return max(0.0, budget_s - (time.monotonic() - self.signalled_at))


async def bounded_once_stopped(
    stop: asyncio.Event, work: Awaitable[None], within_s: float, what: str
) -> None:
    """``work`` awaited; within ``within_s`` once ``stop`` is set (else without a bound). What is
    not done by then is left to the process's exit, and logged."""
    if not stop.is_set():
        await work
        return
    try:
        await asyncio.wait_for(work, within_s)
    except TimeoutError:
        log.warning("stop_step_cut_short", step=what, within_s=within_s)

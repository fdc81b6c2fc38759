"""How a supervised component keeps time: its heartbeat, a sleep that a stop cuts short, and a
ticker for components with no progress of their own. Sleeps are on the given
:class:`~rampart.clock.Clock`, so a SimClock runs them at once."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

from rampart.clock import Clock

Beat = Callable[[], None]
RunFn = Callable[[Beat], Awaitable[None]]
"""A component as a bare function of its heartbeat."""


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


__all__ = ["Beat", "RunFn", "sleep_unless_stopped", "ticking"]

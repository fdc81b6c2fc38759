"""Waiting for NATS at a worker's start, as for PostgreSQL (:mod:`.database_wait`).

A worker started while the NATS server was away (a kill -9's supervisor restarting it during a
NATS restart, which the fleet chaos run does) exited at once with "NATS does not answer",
while a worker already running rides the same outage out on its reconnects. Now the opening
tries again, with backoff, until NATS answers or the worker is told to stop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import structlog

from rampart.clock import Clock
from rampart.messaging.nats_link import NatsUnavailable
from rampart.runtime.backoff import ceiling_s

log = structlog.get_logger("rampart.worker")

BASE_S = 1.0
CAP_S = 10.0


async def connect_waiting(
    connecting: Callable[[], Awaitable[Any]],
    clock: Clock,
    stop: asyncio.Event,
    tell: Callable[[str], None],
) -> Any:
    """``connecting()``, tried again while NATS does not answer, until ``stop`` (then the last
    error). ``tell`` gets one line when the wait begins."""
    tries = 0
    while True:
        try:
            return await connecting()
        except NatsUnavailable as err:
            if stop.is_set():
                raise
            wait = ceiling_s(tries, BASE_S, CAP_S)
            if tries == 0:
                tell(f"{err.message} Waiting for it (trying again every {CAP_S:.0f} s at most).")
            log.warning("nats_away", error=err.message, retry_in_s=wait, tries=tries + 1)
            tries += 1
            sleeper = asyncio.ensure_future(clock.sleep(wait))
            stopped = asyncio.ensure_future(stop.wait())
            await asyncio.wait([sleeper, stopped], return_when=asyncio.FIRST_COMPLETED)
            sleeper.cancel()
            stopped.cancel()
            if stop.is_set():
                raise


__all__ = ["connect_waiting"]

"""Waiting for PostgreSQL at a process's start.

A worker started while PostgreSQL was down (a host rebooting, the database restarting after
a failover) exited with "Cannot connect to PostgreSQL", while a worker already running rides
the same outage out: a fleet restarted together came back without its workers. Now the
opening waits, with backoff, as long as the database is only away; a database that answers
and refuses (a wrong password, a missing database, a schema from a newer Rampart) still ends
the process with its sentence at once, because waiting would not mend it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TypeVar

import structlog

from rampart.clock import Clock
from rampart.domain.errors import StoreError
from rampart.runtime.backoff import ceiling_s

log = structlog.get_logger("rampart.store")

T = TypeVar("T")

AWAY = (
    "connection refused",
    "could not connect",
    "timeout expired",
    "timed out",
    "starting up",
    "shutting down",
    "no such file or directory",
    "server closed the connection",
    "the database system is in recovery mode",
    "connection reset",
    # A restart or failover ends the sessions open at the time (a fast shutdown, or
    # pg_terminate_backend by a failover manager); a worker opening then must wait too.
    "terminating connection due to administrator command",
    "not yet accepting connections",
)
"""What PostgreSQL (or the route to it) says while it is away, not while it refuses us."""
BASE_S = 1.0
CAP_S = 15.0


def database_away(err: StoreError) -> bool:
    """Whether ``err`` says the database does not answer (rather than that it refuses)."""
    text = str(err).lower()
    return text.startswith("cannot connect to postgresql") and any(w in text for w in AWAY)


async def open_waiting(
    opening: Callable[[], T], clock: Clock, stop: asyncio.Event, tell: Callable[[str], None]
) -> T:
    """``opening()`` (in a thread), tried again while the database is away, until ``stop``.
    ``tell`` gets one line when the wait begins and one when it ends."""
    tries = 0
    while True:
        try:
            found = await asyncio.to_thread(opening)
        except StoreError as err:
            if not database_away(err) or stop.is_set():
                raise
            wait = ceiling_s(tries, BASE_S, CAP_S)
            if tries == 0:
                tell(f"{err} Waiting for it (trying again every {CAP_S:.0f} s at most).")
            log.warning("database_away", error=str(err), retry_in_s=wait, tries=tries + 1)
            tries += 1
            sleeper = asyncio.ensure_future(clock.sleep(wait))
            stopped = asyncio.ensure_future(stop.wait())
            await asyncio.wait([sleeper, stopped], return_when=asyncio.FIRST_COMPLETED)
            sleeper.cancel()
            stopped.cancel()
            if stop.is_set():
                raise
            continue
        if tries:
            tell(f"The database answers again after {tries} tries; starting.")
        return found


__all__ = ["database_away", "open_waiting"]

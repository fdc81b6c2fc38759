"""A worker started while NATS is away waits for it: a fleet chaos run restarted a
killed worker during a NATS restart, and it exited with "NATS does not answer" where a running
worker rides the same outage out. Simulated time: the backoff's sleeps advance a SimClock."""

from __future__ import annotations

import asyncio

import pytest

from rampart.clock import SimClock
from rampart.fleet.nats_wait import connect_waiting
from rampart.messaging.nats_link import NatsUnavailable


def test_the_opening_waits_for_nats_and_stops_when_told() -> None:
    async def scenario() -> None:
        clock = SimClock(0)
        told: list[str] = []
        tries = 0

        async def connecting() -> str:
            nonlocal tries
            tries += 1
            if tries < 3:
                raise NatsUnavailable("NATS does not answer at nats://x.")
            return "connected"

        stop = asyncio.Event()
        assert await connect_waiting(connecting, clock, stop, told.append) == "connected"
        assert tries == 3 and clock.now_ms() == 3_000  # 1 s, then 2 s of backoff
        assert len(told) == 1 and told[0].startswith("NATS does not answer")

        async def never() -> str:
            raise NatsUnavailable("NATS does not answer at nats://x.")

        stop.set()  # told to stop: the last error, at once
        with pytest.raises(NatsUnavailable):
            await connect_waiting(never, clock, stop, told.append)

    asyncio.run(scenario())

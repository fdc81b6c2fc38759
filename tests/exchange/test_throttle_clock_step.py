"""ccxt's request throttle through a host clock stepped back: with the bucket empty
(requests being paced) a step back of 10 minutes stopped every request of the client until the
wall clock caught up. The host's wall clock is replaced for ccxt's throttle module; the paced
requests still leave, each after ccxt's own pace of real (monotonic) time."""

from __future__ import annotations

import asyncio

import pytest
from ccxt.async_support.base import throttler as ccxt_throttler

from rampart.venues.ccxt_client import make_client

STEP_BACK_S = 600.0


class SteppedWall:
    """The host's wall clock, stepped back 10 minutes after its first reading."""

    def __init__(self) -> None:
        self.reads = 0
        self.start = 1_700_000_000.0

    def __call__(self) -> float:
        self.reads += 1
        return self.start - (STEP_BACK_S if self.reads > 1 else 0.0)


def test_paced_requests_go_on_when_the_host_clock_steps_back(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    wall = SteppedWall()
    monkeypatch.setattr(ccxt_throttler, "time", wall)

    async def go() -> int:
        client = make_client("binance")
        client.throttler.config["tokens"] = -1  # one request's pace owed: paced from now on
        requests = [client.throttle(1) for _ in range(3)]
        # A bound so that the stalled throttle fails instead of hanging; the paced requests
        # take ~0.15 s of ccxt's pace (50 ms each).
        done, _ = await asyncio.wait([asyncio.ensure_future(r) for r in requests], timeout=30)
        await client.close()
        return len(done)

    assert asyncio.run(go()) == 3

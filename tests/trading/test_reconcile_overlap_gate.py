"""Accounts side by side are bounded per process, not per pass: a worker takes a
round's shards at once, and their passes share one gate, so the event loop that renews the
worker's leases never answers more than the bound's accounts at once. A failing job is raised
as itself, and the others stop."""

from __future__ import annotations

import asyncio

import pytest

from rampart.trading.reconcile.overlap import side_by_side


def test_two_passes_in_one_process_share_the_bound() -> None:
    in_flight = most = 0
    started: list[str] = []

    async def job(name: str) -> None:
        nonlocal in_flight, most
        started.append(name)
        in_flight += 1
        most = max(most, in_flight)
        for _ in range(5):  # waiting on a venue, a few turns of the loop
            await asyncio.sleep(0)
        in_flight -= 1

    async def go() -> None:
        shard = [[lambda s=s, a=a: job(f"{s}{a}") for a in range(6)] for s in "xy"]
        await asyncio.gather(side_by_side(shard[0], 3), side_by_side(shard[1], 3))

    asyncio.run(go())
    assert most == 3
    assert sorted(started) == sorted(f"{s}{a}" for s in "xy" for a in range(6))


def test_a_failing_job_is_raised_as_itself_and_the_others_stop() -> None:
    finished: list[int] = []

    async def job(n: int) -> None:
        await asyncio.sleep(0)
        if n == 1:
            raise KeyError("the second account")
        for _ in range(20):
            await asyncio.sleep(0)
        finished.append(n)

    with pytest.raises(KeyError):
        asyncio.run(side_by_side([lambda n=n: job(n) for n in range(4)], 4))
    assert finished == []

"""RpcPool against the stand-in's nodes: a down node, 5xx, 429 and a lagging node each move
the calls to the next node, and a probe brings them back to the primary."""

from __future__ import annotations

import httpx
import pytest

from rampart.venues.solana.rpc import RpcPool
from rampart_testkit.solana_sim import start_solana_sim

from .client_kit import Recorder, aio


async def _no_sleep(seconds: float) -> None:
    del seconds


@pytest.mark.parametrize(
    ("kind", "outcome"), [("down", "down"), ("http5xx", "http_5xx"), ("http429", "http_429")]
)
def test_a_failing_node_hands_over_and_the_probe_fails_back(kind: str, outcome: str) -> None:
    @aio
    async def run() -> None:
        async with start_solana_sim(slot_ms=0) as sim, httpx.AsyncClient() as http:
            obs = Recorder()
            pool = RpcPool(
                [sim.rpc_url("a"), sim.rpc_url("b")], client=http, observer=obs, sleep=_no_sleep
            )
            a, b = (e.name for e in pool.endpoints)
            sim.add_fault(kind, count=None if kind == "down" else 100, node="a")
            assert await pool.slot() >= 0
            assert pool.active.name == b and pool.up() == {a: False, b: True}
            assert (a, "getSlot", outcome) in obs.calls
            await pool.probe()
            assert pool.active.name == b
            sim.clear_faults()
            await pool.probe()
            assert pool.active.name == a and pool.up() == {a: True, b: True}
            assert obs.failovers[-1] == (b, a, "primary healthy again")

    run()


@aio
async def test_a_lagging_node_is_left_until_it_catches_up() -> None:
    async with start_solana_sim(slot_ms=0) as sim, httpx.AsyncClient() as http:
        obs = Recorder()
        pool = RpcPool(
            [sim.rpc_url("a"), sim.rpc_url("b")],
            client=http,
            observer=obs,
            lag_slots=10,
            sleep=_no_sleep,
        )
        await sim.advance(100)
        sim.add_fault("lag", node="a", slots=40)
        await pool.probe()
        a, b = (e.name for e in pool.endpoints)
        assert pool.up() == {a: False, b: True} and pool.active.name == b
        sim.clear_faults()
        await pool.probe()
        assert pool.active.name == a

"""Dirty database faults through the service's own wiring: a store that still answers
``SELECT 1`` but refuses every write (a locked SQLite file here, as a full disk would) is not
ready; readiness comes back with the first write that lands. Time is simulated."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path

from rich.console import Console

from rampart.clock import SimClock
from rampart.config import load_settings
from rampart.loops.candle import CandleLoop
from rampart.wiring.service import Service

from .db_outage import SqliteLock


def _service(url: str, ops: SimClock) -> Service:
    settings = load_settings(
        store={"url": url, "checkpoint_every": 3}, feed={"speed": 1e9}, api={"enabled": False}
    )
    return Service(
        settings, Console(file=io.StringIO()), view=False, ops_clock=ops, install_signals=False
    )


async def _trade(service: Service, n: int) -> None:
    loop = service.parts.engine_loop
    assert isinstance(loop, CandleLoop)
    for _ in range(n):
        candle = loop.next_candle()
        assert candle is not None
        async with service.lock:
            service.clock.set(max(service.clock.now_ms(), candle.close_ts))
            await service.session.process(candle)


def test_readiness_fails_while_the_store_refuses_writes(tmp_path: Path) -> None:
    path = tmp_path / "rampart.db"
    lock = SqliteLock(path)
    ops = SimClock(1_700_000_000_000)
    service = _service(f"sqlite:///{path}", ops)

    async def database_check() -> tuple[bool, str]:
        ok, checks = await service.health.ready()
        (check,) = [c for c in checks if c.name == "database"]
        return check.ok, check.detail

    async def scenario() -> list[tuple[bool, str]]:
        await service.open()
        SqliteLock.shorten_waits(service.session.db)
        await _trade(service, 30)
        seen = [await database_check()]
        lock.start()
        try:
            while not service.session.store_down:
                await _trade(service, 1)
            seen.append(await database_check())
            await service.parts.health_loop.sample()  # the sampler's view agrees
            seen.append(await database_check())
        finally:
            lock.stop()
        ops.advance(10_000)
        await _trade(service, 3)  # the retry lands
        seen.append(await database_check())
        service.close()
        return seen

    before, refused, sampled, after = asyncio.run(scenario())
    assert before[0] and after[0], (before, after)
    assert not refused[0] and not sampled[0], (refused, sampled)
    assert refused[1].startswith("the database refuses writes: Saving"), refused
    assert "locked" in refused[1], refused

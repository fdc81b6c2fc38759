"""No false DatabaseDown: the database is down only when it does not answer. A store that
refuses rows for their own reason, a full connection pool and a probe that answers late are
not an outage (entries may halt, readiness may fail, but no P0 fires); a database that never
answers still is one."""

from __future__ import annotations

import asyncio
import io
import threading
from pathlib import Path

import pytest
import sqlalchemy as sa
from rich.console import Console

from rampart.clock import SimClock
from rampart.config import load_settings
from rampart.loops.candle import CandleLoop
from rampart.runtime.health import Check
from rampart.runtime.probes import database_probe, patient
from rampart.store.errors import failed_write, not_answering
from rampart.wiring.service import Service

START = 1_700_000_000_000


def _up(service: Service) -> float | None:
    return service.metrics.registry.get_sample_value("rampart_database_up")


def test_rows_refused_for_their_own_reason_halt_entries_but_are_not_the_database_down(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ops = SimClock(START)
    settings = load_settings(
        store={"url": f"sqlite:///{tmp_path / 'rampart.db'}", "checkpoint_every": 3},
        feed={"speed": 1e9},
        api={"enabled": False},
    )
    service = Service(
        settings, Console(file=io.StringIO()), view=False, ops_clock=ops, install_signals=False
    )

    async def trade(n: int) -> None:
        loop = service.parts.engine_loop
        assert isinstance(loop, CandleLoop)
        for _ in range(n):
            candle = loop.next_candle()
            assert candle is not None
            async with service.lock:
                service.clock.set(max(service.clock.now_ms(), candle.close_ts))
                await service.session.process(candle)

    async def scenario() -> list[str]:
        await service.open()
        session, alerts = service.session, service.alerts
        assert alerts is not None and session.writer is not None
        await trade(10)
        writer = session.writer

        def refuse(*args: object, **kwargs: object) -> None:
            # What PostgreSQL says of a value longer than its column: the database answered.
            err = sa.exc.DataError("INSERT", {}, Exception("value too long for type varchar"))
            raise failed_write(err, 1, None) from err

        monkeypatch.setattr(writer, "write", refuse)
        fired: list[str] = []
        for _ in range(6):
            await trade(4)
            await service.parts.health_loop.sample()
            fired += [f"{n.kind} {n.rule}" for n in await alerts.evaluate(ops.now_ms())]
            ops.advance(5_000)
        assert session.store_down, "entries halt while rows are refused"
        assert not session.store_unanswered
        assert _up(service) == 1
        ok, checks = await service.health.ready()
        database = next(c for c in checks if c.name == "database")
        assert not database.ok and database.slow and "refuses writes" in database.detail
        service.close()
        return fired

    fired = asyncio.run(scenario())
    assert "firing DatabaseDown" not in fired, fired


def test_a_full_pool_is_slow_and_an_unreachable_server_is_down(tmp_path: Path) -> None:
    busy = sa.create_engine(
        f"sqlite:///{tmp_path / 'busy.db'}", pool_size=1, max_overflow=0, pool_timeout=0.05
    )
    held = busy.connect()
    try:
        check = asyncio.run(database_probe(busy, down=not_answering)())
    finally:
        held.close()
        busy.dispose()
    assert not check.ok and check.slow, check
    gone = sa.create_engine("postgresql+psycopg://nobody@127.0.0.1:1/none")
    check = asyncio.run(database_probe(gone, down=not_answering)())
    gone.dispose()
    assert not check.ok and not check.slow, check


def test_a_late_answer_is_slow_and_no_answer_at_all_is_down() -> None:
    clock = SimClock(START)
    release = threading.Event()

    async def hung() -> Check:
        await asyncio.to_thread(release.wait, 30)
        return Check("database", True, "sqlite answers")

    async def scenario() -> list[Check]:
        ask = patient(hung, clock, deadline_s=0.01, down_after_s=10)
        seen = [await ask()]
        clock.advance(9_000)
        seen.append(await ask())
        clock.advance(1_000)
        seen.append(await ask())
        release.set()
        seen.append(await ask())
        return seen

    slow, still_slow, down, back = asyncio.run(scenario())
    assert not slow.ok and slow.slow
    assert not still_slow.ok and still_slow.slow
    assert not down.ok and not down.slow and "no answer for 10 s" in down.detail
    assert back.ok

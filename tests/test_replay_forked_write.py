"""A replay on a SQLite file writes each checkpoint from a forked child: the database ends
exactly as with in-process writes, and a child's failure reaches the replay as a StoreError."""

from __future__ import annotations

import asyncio
import os
import signal
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from rampart.clock import SimClock
from rampart.config import AccountConfig, load_settings
from rampart.domain.candles import Candle
from rampart.domain.errors import StoreError
from rampart.store import forked_write
from rampart.store.db import open_database
from rampart.store.forked_write import ForkedWrites, forkable
from rampart.store.writer import StoreWriter
from rampart.wiring import session as session_module
from rampart.wiring.session import TradingSession, instruments_for

from .replay_helpers import candle_walk, gc_as_found  # noqa: F401 (an autouse fixture)
from .store.factories import spec

SYMBOL = "BTC/USDT"
BOOKS = ("orders", "order_transitions", "fills", "trades", "intents", "equity_snapshots")


async def _replay(db: Path, candles: list[Candle]) -> None:
    relaxed = {"daily_loss": "0.99", "max_drawdown": "0.99", "consecutive_losses": 1_000_000}
    settings = load_settings(profiles={"aggressive": relaxed})
    account = AccountConfig(
        id="fork-trend",
        agent="trend",
        profile="aggressive",
        capital=Decimal("100000"),
        symbols=[SYMBOL],
        owner="test",
        params={"fast": 3, "slow": 6},
    )
    clock = SimClock(0)
    session = TradingSession(
        settings,
        clock,
        instruments_for([SYMBOL], {SYMBOL: 40_000.0}),
        db_url=f"sqlite:///{db}",
        checkpoint_name="replay",
        accounts=[account],
        checkpoint_every=50,
        ride_out_outages=False,
    )
    await session.open()
    try:
        for candle in candles:
            clock.set(candle.close_ts)
            await session.process(candle)
        await session.engine.controls.flatten_all("end of data")
    finally:
        session.close()


def _books(db: Path) -> dict[str, list[tuple[Any, ...]]]:
    engine = sa.create_engine(f"sqlite:///{db}")
    try:
        with engine.connect() as conn:
            names = (*BOOKS, "audit_log", "checkpoints", "accounts")
            query = "SELECT * FROM {} ORDER BY rowid"
            return {t: list(conn.exec_driver_sql(query.format(t))) for t in names}
    finally:
        engine.dispose()


def test_forked_writes_leave_the_same_database_as_writes_in_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    candles = candle_walk(600, SYMBOL, seed=7)
    forks = 0
    real_fork = os.fork

    def counting_fork() -> int:
        nonlocal forks
        pid = real_fork()
        if pid:
            forks += 1
        return pid

    monkeypatch.setattr(forked_write.os, "fork", counting_fork)
    asyncio.run(_replay(tmp_path / "forked.db", candles))
    # The first checkpoint is written in process (it compiles the statements the children use).
    assert forks == 600 // 50 - 1, "the replay did not write its checkpoints from a child"

    monkeypatch.setattr(session_module, "forkable", lambda url: False)
    asyncio.run(_replay(tmp_path / "in_process.db", candles))

    forked, in_process = _books(tmp_path / "forked.db"), _books(tmp_path / "in_process.db")
    assert len(forked["orders"]) > 10, "the replay should trade"
    assert forked == in_process


def test_only_a_sqlite_file_is_written_from_a_child() -> None:
    assert forkable("sqlite:////tmp/replay.db")
    assert not forkable("sqlite://")
    assert not forkable("sqlite:///:memory:")
    assert not forkable("sqlite:///file:mem?mode=memory&uri=true")
    assert not forkable("postgresql+psycopg://postgres@127.0.0.1:5432/test")


def _writer_with_rows(tmp_path: Path) -> StoreWriter:
    writer = StoreWriter(open_database(f"sqlite:///{tmp_path / 'w.db'}"))
    writer.upsert_account(spec(), "active", False, 1)
    return writer


@pytest.mark.parametrize("how", ["store_error", "dies"])
def test_a_failed_child_write_raises_at_the_join_and_keeps_its_rows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    writer = _writer_with_rows(tmp_path)

    def failing_write(self: StoreWriter, batch: Any, checkpoint: Any = None) -> int:
        if how == "dies":
            os._exit(3)
        raise StoreError("The disk is full.")

    # The child is a copy of this process, so it runs the patched write.
    monkeypatch.setattr(StoreWriter, "write", failing_write)
    forks = ForkedWrites()
    forks.start(writer, writer.detach(), ("replay", 1, {"candles_seen": 1}))
    assert forks.busy
    with pytest.raises(StoreError) as raised:
        forks.join(writer)
    expected = "The disk is full." if how == "store_error" else "ended with status 3"
    assert expected in raised.value.message
    assert not forks.busy
    assert writer.pending == 1, "the failed batch's rows must be back in the buffer"
    assert writer.failing and writer.stats.failed_flushes == 1
    writer.engine.dispose()


def test_a_child_write_lands_and_its_statistics_come_back(tmp_path: Path) -> None:
    writer = _writer_with_rows(tmp_path)
    forks = ForkedWrites()
    forks.start(writer, writer.detach(), ("replay", 1, {"candles_seen": 1}))
    forks.join(writer)
    forks.join(writer)  # nothing in flight: a no-op
    assert writer.stats.flushes == 1 and writer.stats.rows["accounts"] == 1
    assert not writer.unsaved()[0].size and len(writer.unsaved()) == 1
    with writer.engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM checkpoints").scalar() == 1
    writer.engine.dispose()


def test_ctrl_c_does_not_stop_the_write_in_flight(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    writer = _writer_with_rows(tmp_path)
    original = StoreWriter.write

    def interrupted_write(self: StoreWriter, batch: Any, checkpoint: Any = None) -> int:
        os.kill(os.getpid(), signal.SIGINT)  # in the child: the terminal's Ctrl-C reaching it
        return original(self, batch, checkpoint)

    monkeypatch.setattr(StoreWriter, "write", interrupted_write)
    forks = ForkedWrites()
    forks.start(writer, writer.detach(), ("replay", 1, {"candles_seen": 1}))
    forks.join(writer)
    assert writer.stats.flushes == 1 and not writer.failing
    writer.engine.dispose()

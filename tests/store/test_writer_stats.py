"""The store writer's statistics (``writer.stats``: what the soak report counts as repairs
stored, what ``bench/api.py`` waits on) and what a flush says it wrote: every row counted,
per table, summed over the flushes (the survivors of ``make mutate AREA=fencing``
in ``StoreWriter.write`` and ``_write``); and the writer's refusals, each one sentence."""

from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace

import pytest
import sqlalchemy as sa

from rampart.domain.accounts import TradingState
from rampart.domain.events import AccountStateChanged, KillSwitchChanged, PositionChanged
from rampart.store import writer as writer_module
from rampart.store.errors import StoreError
from rampart.store.writer import StoreWriter

from .factories import SYMBOL, T0, round_trip, spec


class _Ticks:
    """A ``perf_counter`` that moves one second per reading."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        self.now += 1.0
        return self.now


def test_every_row_of_a_flush_is_counted_per_table_and_summed_over_flushes(
    db: sa.Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(writer_module, "time", SimpleNamespace(perf_counter=_Ticks()))
    writer = StoreWriter(db)
    for name in ("alice", "bob", "carol"):
        writer.upsert_account(spec(name), TradingState.ACTIVE, False, T0)
    position, _ = round_trip("bob")
    writer(PositionChanged(T0 + 1, "bob", SYMBOL, position))
    assert writer.flush() == 4
    assert writer.stats.rows == {"accounts": 3, "positions": 1}
    assert (writer.stats.flushes, writer.stats.last_flush_rows) == (1, 4)
    assert writer.stats.flush_seconds == 1.0

    # One batch: alice's row upserted, bob halted, carol paused (three writes of `accounts`),
    # alice's position opened and bob's closed (an upsert and a delete of `positions`).
    writer.upsert_account(spec("alice"), TradingState.ACTIVE, False, T0 + 2)
    writer(AccountStateChanged(T0 + 3, "bob", TradingState.ACTIVE, TradingState.HALTED, "dd"))
    writer(KillSwitchChanged(T0 + 4, "carol", True, "review", "ops"))
    alice_position, _ = round_trip("alice")
    writer(PositionChanged(T0 + 5, "alice", SYMBOL, alice_position))
    writer(PositionChanged(T0 + 6, "bob", SYMBOL, None))
    assert writer.flush(("worker", T0 + 6, {})) == 8
    assert writer.stats.rows == {
        "accounts": 6,
        "positions": 3,
        "account_events": 2,
        "checkpoints": 1,
    }
    assert writer.stats.total_rows == 12
    assert (writer.stats.flushes, writer.stats.last_flush_rows) == (2, 8)
    assert writer.stats.flush_seconds == 2.0
    assert writer.stats.failed_flushes == 0


def test_a_failed_flush_counts_no_rows_and_no_time(
    db: sa.Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(writer_module, "time", SimpleNamespace(perf_counter=_Ticks()))
    writer = StoreWriter(db)
    writer.upsert_account(spec(), TradingState.ACTIVE, False, T0)
    assert writer.flush() == 1

    def refuse(conn: sa.Connection) -> None:
        raise sa.exc.OperationalError("INSERT", {}, Exception("server closed the connection"))

    writer.fence = refuse
    writer.upsert_account(spec("bob"), TradingState.ACTIVE, False, T0 + 1)
    with pytest.raises(StoreError):
        writer.flush()
    assert writer.stats.rows == {"accounts": 1}
    assert (writer.stats.flushes, writer.stats.failed_flushes) == (1, 1)
    assert writer.stats.last_flush_rows == 1
    assert writer.stats.flush_seconds == 1.0
    assert writer.failing


def test_a_facade_entry_the_store_refuses_is_one_sentence_with_the_database_reason(
    tmp_path: Path,
) -> None:
    broken = sa.create_engine(f"sqlite:///{tmp_path / 'missing' / 'r.db'}")
    writer = StoreWriter(broken)
    with pytest.raises(StoreError) as err:
        writer.write_facade([(T0, "ops", "operator.pause", "alice", {}, None)])
    assert re.fullmatch(
        r"Could not write to the audit log: the database cannot be reached .+\.", err.value.message
    )
    broken.dispose()


def test_an_entry_outside_the_operator_facade_is_refused_in_one_sentence(
    writer: StoreWriter,
) -> None:
    with pytest.raises(ValueError, match=r"^'kill_switch\.engaged' is not an operator facade "):
        writer.facade_entry(T0, "ops", "kill_switch.engaged", "alice", {})
    assert writer.pending == 0

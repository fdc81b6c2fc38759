"""Rows the writer changes in place, each for its own key and with its time (the
survivors of ``make mutate AREA=fencing`` at 2176332): a closed position's row is deleted for
its own account and symbol only (a delete keyed on the symbol alone, or on the account alone,
passed every other store test); a breaker's halt written alone moves the account row's time;
a write that succeeds after failures clears the writer's failure and its sentence."""

from __future__ import annotations

from dataclasses import replace

import pytest
import sqlalchemy as sa

from rampart.domain.accounts import TradingState
from rampart.domain.events import AccountStateChanged, PositionChanged
from rampart.store import models as m
from rampart.store.errors import StoreError
from rampart.store.writer import StoreWriter

from .factories import ACCOUNT, SYMBOL, T0, round_trip, spec

OTHER_SYMBOL = "XRP/BTC"


def _rows(db: sa.Engine) -> set[tuple[str, str]]:
    p = m.positions.c
    with db.connect() as conn:
        return {(r.account_id, r.symbol) for r in conn.execute(sa.select(p.account_id, p.symbol))}


def test_a_closed_position_deletes_only_its_own_row(db: sa.Engine) -> None:
    writer = StoreWriter(db)
    held = {
        ("alice", SYMBOL): round_trip("alice")[0],
        ("alice", OTHER_SYMBOL): replace(round_trip("alice")[0], symbol=OTHER_SYMBOL),
        ("bob", SYMBOL): round_trip("bob")[0],
    }
    for account in ("alice", "bob"):
        writer.upsert_account(spec(account), TradingState.ACTIVE, False, T0)
    for (account, symbol), position in held.items():
        writer(PositionChanged(T0 + 1, account, symbol, position))
    writer.flush()
    assert _rows(db) == set(held)

    writer(PositionChanged(T0 + 2, "alice", SYMBOL, None))
    writer.flush()
    assert _rows(db) == {("alice", OTHER_SYMBOL), ("bob", SYMBOL)}

    writer(PositionChanged(T0 + 3, "bob", SYMBOL, None))
    writer.flush()
    assert _rows(db) == {("alice", OTHER_SYMBOL)}


def test_a_halt_written_alone_moves_the_account_rows_time(db: sa.Engine) -> None:
    """The account's row is not in the batch (written earlier): the halt is an UPDATE of its
    state, and of its time, which the panel shows as when the account last changed."""
    writer = StoreWriter(db)
    writer.upsert_account(spec(), TradingState.ACTIVE, False, T0)
    writer.flush()
    writer(AccountStateChanged(T0 + 5, ACCOUNT, TradingState.ACTIVE, TradingState.HALTED, "dd"))
    writer.flush()
    a = m.accounts.c
    with db.connect() as conn:
        row = conn.execute(sa.select(a.state, a.updated_at)).one()
    assert tuple(row) == ("halted", T0 + 5)


def test_a_write_after_failures_clears_the_failure_and_its_sentence(db: sa.Engine) -> None:
    refusing = [True]

    def fence(conn: sa.Connection) -> None:
        if refusing[0]:
            raise sa.exc.OperationalError("INSERT", {}, Exception("server closed the connection"))

    writer = StoreWriter(db, fence=fence)
    writer.upsert_account(spec(), TradingState.ACTIVE, False, T0)
    with pytest.raises(StoreError):
        writer.flush()
    assert writer.failing and "server closed the connection" in writer.last_error
    refusing[0] = False
    assert writer.flush() == 1
    assert (writer.failing, writer.last_error) == (False, "")

"""Rows written twice land once: a shard's new holder that derives again what the old
one saved (fills by their venue trade id, a closed trade by its entry order) writes its
checkpoint without a duplicate-key failure, and nothing is counted twice; a batch rewritten
after a commit whose acknowledgement was lost does the same. Both databases."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from decimal import Decimal
from functools import partial

import pytest
import sqlalchemy as sa

from rampart.clock import SimClock
from rampart.domain.events import FillBooked, TradeClosed
from rampart.domain.fills import Fill
from rampart.domain.positions import ClosedTrade
from rampart.store import models as m
from rampart.store.db import open_database
from rampart.store.leases import ShardLeases
from rampart.store.writer import StoreWriter
from tests.store.factories import T0, entry_order, fill_for, round_trip

TTL_MS = 10_000


@pytest.fixture
def db(db_url: str) -> Iterator[sa.Engine]:
    engine = open_database(db_url)
    try:
        yield engine
    finally:
        engine.dispose()


def _fills_and_trade() -> tuple[list[Fill], ClosedTrade]:
    entry = entry_order()
    fills = [
        fill_for(entry, "v-101", "0.100", "0.09120", T0 + 20),
        fill_for(entry, "v-102", "0.200", "0.09121", T0 + 30),
    ]
    _, trade = round_trip()
    return fills, trade


def _buffer(writer: StoreWriter, fills: list[Fill], trade: ClosedTrade) -> None:
    for fill in fills:
        writer(FillBooked(fill.ts, fill, "entry", "breakout"))
    writer(TradeClosed(trade.closed_at, trade))


def _money(db: sa.Engine) -> dict[str, object]:
    with db.connect() as conn:
        fills = conn.execute(sa.select(m.fills.c.fill_id, m.fills.c.qty)).all()
        trades = conn.execute(sa.select(m.trades.c.entry_client_id, m.trades.c.pnl)).all()
    return {
        "fills": sorted(str(f.fill_id) for f in fills),
        "filled qty": sum((Decimal(str(f.qty)) for f in fills), Decimal(0)),
        "trades": [(str(t.entry_client_id), Decimal(str(t.pnl))) for t in trades],
    }


def test_a_checkpoint_replayed_after_a_takeover_lands_once_and_the_newer_trade_wins(
    db: sa.Engine,
) -> None:
    clock = SimClock(1_000)
    old = ShardLeases(db, "worker-a", clock, TTL_MS)
    old.ensure(1)
    assert old.acquire(0) is not None
    fills, trade = _fills_and_trade()
    first = StoreWriter(db, fence=partial(old.fence, shards=[0]))
    _buffer(first, fills, trade)
    # Saved without a checkpoint (the buffer passed its limit): the shard's checkpoint is older.
    first.flush()

    clock.advance(TTL_MS)
    new = ShardLeases(db, "worker-b", clock, TTL_MS)
    assert new.acquire(0) is not None
    # The new holder resumed from that older checkpoint and derived the same fills and the
    # same closed trade from the venue, this time with its real exit price.
    truth = replace(trade, exit_price=trade.exit_price + Decimal("0.001"), pnl=Decimal("0.25"))
    second = StoreWriter(db, fence=partial(new.fence, shards=[0]))
    _buffer(second, fills, truth)
    second.flush(("shard-0", clock.now_ms(), {"seen": {}}))

    assert _money(db) == {
        "fills": ["v-101", "v-102"],
        "filled qty": Decimal("0.300"),
        "trades": [(trade.entry_client_id, Decimal("0.25"))],
    }
    assert not second.failing and second.pending == 0


def test_a_batch_written_again_after_its_acknowledgement_was_lost_counts_once(
    db: sa.Engine,
) -> None:
    fills, trade = _fills_and_trade()
    writer = StoreWriter(db)
    _buffer(writer, fills, trade)
    batch = writer.detach()
    writer.write(batch)  # committed, but say the answer never came back: it is restored
    writer.restore(batch)
    # The same trade twice in one batch (derived again in the same interval) is one row too.
    _buffer(writer, [], trade)

    writer.flush()

    assert _money(db) == {
        "fills": ["v-101", "v-102"],
        "filled qty": Decimal("0.300"),
        "trades": [(trade.entry_client_id, trade.pnl)],
    }


def test_an_entry_that_fills_again_after_its_position_closed_saves_both_trades(
    db: sa.Engine,
) -> None:
    # Its cancel was not confirmed when the position closed: the entry filled again, opened
    # another position under the same entry id, and that one closed too.
    _, trade = round_trip()
    again = replace(
        trade,
        opened_at=trade.closed_at + 60_000,
        closed_at=trade.closed_at + 120_000,
        pnl=Decimal("-0.5"),
    )
    writer = StoreWriter(db)
    writer(TradeClosed(trade.closed_at, trade))
    writer.flush()
    writer(TradeClosed(again.closed_at, again))
    writer.flush()

    assert sorted(pnl for _, pnl in _money(db)["trades"]) == [Decimal("-0.5"), trade.pnl]  # type: ignore[union-attr]


def test_a_large_batch_replayed_over_part_of_its_fills_lands_each_fill_once(
    db: sa.Engine,
) -> None:
    # Large enough for PostgreSQL's staged COPY (fast_insert.STAGED_ROWS), twice in a row.
    entry = entry_order()
    first = [fill_for(entry, f"v-{i}", "0.001", "0.0912", T0 + i) for i in range(600)]
    again = [fill_for(entry, f"v-{i}", "0.001", "0.0912", T0 + i) for i in range(300, 1200)]
    writer = StoreWriter(db)
    for batch in (first, again):
        for fill in batch:
            writer(FillBooked(fill.ts, fill, "entry", "breakout"))
        writer.flush()

    money = _money(db)
    assert len(money["fills"]) == 1200  # type: ignore[arg-type]
    assert money["filled qty"] == Decimal("1.200")

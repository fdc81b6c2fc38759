"""StoreWriter: every event kind lands and reads back equal; upserts, deletes, checkpoints."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import sqlalchemy as sa

from rampart.domain.accounts import TradingState
from rampart.domain.candles import Candle
from rampart.domain.events import (
    AccountStateChanged,
    BreakerTripped,
    CandleClosed,
    EquitySnapshot,
    FillBooked,
    IntentProposed,
    IntentRejected,
    InvariantViolated,
    KillSwitchChanged,
    OrderUpdated,
    PositionChanged,
    TradeClosed,
)
from rampart.domain.orders import OrderStatus
from rampart.store import models as m
from rampart.store import queries as q
from rampart.store.writer import StoreWriter

from .factories import ACCOUNT, SYMBOL, T0, filled_entry, intent, round_trip, spec, stop_order


def _count(db: sa.Engine, table: sa.Table) -> int:
    with db.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()


def test_orders_keep_the_latest_state_and_every_transition(
    db: sa.Engine, writer: StoreWriter
) -> None:
    order, snapshots, _, _ = filled_entry()
    previous = OrderStatus.NEW
    for snap in snapshots:
        writer(OrderUpdated(snap.updated_at, snap, previous))
        previous = snap.status
    assert writer.pending == 1 + len(snapshots)  # one collapsed order row plus the log

    assert writer.flush() == 1 + len(snapshots)

    [stored] = q.recent_orders(db, ACCOUNT)
    assert stored == order  # every field, including the status history
    assert stored.status is OrderStatus.FILLED
    assert stored.avg_fill_price == order.avg_fill_price
    log = q.order_transitions(db, order.client_id)
    assert [(t.previous, t.status) for t in log] == [
        (OrderStatus.NEW, OrderStatus.NEW),
        (OrderStatus.NEW, OrderStatus.SUBMITTED),
        (OrderStatus.SUBMITTED, OrderStatus.PARTIALLY_FILLED),
        (OrderStatus.PARTIALLY_FILLED, OrderStatus.FILLED),
    ]
    assert [t.ts for t in log] == [s.updated_at for s in snapshots]


def test_an_order_updated_across_flushes_is_one_row_with_a_growing_log(
    db: sa.Engine, writer: StoreWriter
) -> None:
    entry, _, _, _ = filled_entry()
    stop = stop_order(entry)
    writer(OrderUpdated(stop.updated_at, stop.snapshot(), OrderStatus.NEW))
    writer.flush()
    stop.transition(OrderStatus.SUBMITTED, T0 + 50)
    writer(OrderUpdated(T0 + 50, stop.snapshot(), OrderStatus.NEW))
    stop.transition(OrderStatus.CANCELED, T0 + 60, "take-profit filled")
    writer(OrderUpdated(T0 + 60, stop.snapshot(), OrderStatus.SUBMITTED))
    writer.flush()

    assert _count(db, m.orders) == 1
    assert _count(db, m.order_transitions) == 3
    [stored] = q.recent_orders(db)
    assert stored == stop
    assert stored.reason == "take-profit filled"
    assert q.recent_orders(db, open_only=True) == []


def test_recent_orders_are_newest_first_and_filtered_by_account(
    db: sa.Engine, writer: StoreWriter
) -> None:
    a1, _, _, _ = filled_entry("a1")
    a2, _, _, _ = filled_entry("a2")
    late = replace(a2, updated_at=a2.updated_at + 1000)
    for order in (a1, late):
        writer(OrderUpdated(order.updated_at, order.snapshot(), OrderStatus.PARTIALLY_FILLED))
    writer.flush()
    assert [o.account_id for o in q.recent_orders(db)] == ["a2", "a1"]
    assert [o.account_id for o in q.recent_orders(db, "a1")] == ["a1"]
    assert [o.account_id for o in q.recent_orders(db, limit=1)] == ["a2"]


def test_fills_read_back_equal(db: sa.Engine, writer: StoreWriter) -> None:
    _, _, first, second = filled_entry()
    writer(FillBooked(first.ts, first, "entry", "breakout"))
    writer(FillBooked(second.ts, second, "entry", "breakout"))
    writer.flush()
    stored = q.recent_fills(db, ACCOUNT)
    assert [r.fill for r in stored] == [second, first]
    assert {(r.role, r.strategy) for r in stored} == {("entry", "breakout")}


def test_positions_upsert_and_a_closed_position_deletes_its_row(
    db: sa.Engine, writer: StoreWriter
) -> None:
    position, _ = round_trip()
    half = replace(position, qty=position.qty / 2, bought_qty=position.qty / 2)
    writer(PositionChanged(T0 + 20, ACCOUNT, SYMBOL, half))
    writer(PositionChanged(T0 + 30, ACCOUNT, SYMBOL, position))
    assert writer.pending == 1
    writer.flush()
    [stored] = q.open_positions(db, ACCOUNT)
    assert stored.position == position
    assert (stored.account_id, stored.symbol, stored.updated_at) == (ACCOUNT, SYMBOL, T0 + 30)

    writer(PositionChanged(T0 + 900, ACCOUNT, SYMBOL, None))
    writer.flush()
    assert q.open_positions(db) == []
    assert _count(db, m.positions) == 0


def test_a_position_closed_and_reopened_in_one_batch_keeps_the_new_one(
    db: sa.Engine, writer: StoreWriter
) -> None:
    position, _ = round_trip()
    writer(PositionChanged(T0 + 30, ACCOUNT, SYMBOL, position))
    writer.flush()
    reopened = replace(position, entry_client_id="second-entry", opened_at=T0 + 2000)
    writer(PositionChanged(T0 + 1000, ACCOUNT, SYMBOL, None))
    writer(PositionChanged(T0 + 2000, ACCOUNT, SYMBOL, reopened))
    writer.flush()
    assert [r.position for r in q.open_positions(db)] == [reopened]


def test_trades_read_back_equal_in_both_orders(db: sa.Engine, writer: StoreWriter) -> None:
    _, first = round_trip()
    second = replace(first, entry_client_id="e-2", opened_at=T0 + 5000, closed_at=T0 + 9000)
    other = replace(first, account_id="bob", entry_client_id="e-3")
    for trade in (first, second, other):
        writer(TradeClosed(trade.closed_at, trade))
    writer.flush()
    assert q.trades_as_closed(db, ACCOUNT) == [first, second]
    assert q.trades(db, ACCOUNT) == [second, first]
    assert q.trades(db, ACCOUNT, since_ts=T0 + 5000) == [second]
    assert len(q.trades(db)) == 3
    assert q.trades_as_closed(db, ACCOUNT)[0].pnl == first.pnl  # exact, 28 digits


def test_equity_history_is_a_curve_and_latest_is_newest(db: sa.Engine, writer: StoreWriter) -> None:
    values = [Decimal("10"), Decimal("10.0123456789012345678901"), Decimal("9.5")]
    for i, equity in enumerate(values):
        cash = equity - Decimal("2.75")
        writer(EquitySnapshot(T0 + i * 60_000, ACCOUNT, cash, Decimal("2.75"), equity, -i))
    writer(EquitySnapshot(T0, "bob", Decimal(1), Decimal(0), Decimal(1), Decimal(0)))
    writer.flush()
    curve = q.equity_history(db, ACCOUNT)
    assert curve == [(T0 + i * 60_000, v) for i, v in enumerate(values)]
    assert q.equity_history(db, ACCOUNT, since_ts=T0 + 60_000) == curve[1:]
    latest = q.latest_equity(db, ACCOUNT)
    assert latest is not None
    assert (latest.ts, latest.cash, latest.equity, latest.realized_pnl) == (
        T0 + 120_000,
        Decimal("6.75"),
        Decimal("9.5"),
        Decimal(-2),
    )
    assert q.latest_equity(db, "nobody") is None


def test_intents_and_rejections_read_back_equal(db: sa.Engine, writer: StoreWriter) -> None:
    proposed = intent(T0)
    refused = intent(T0 + 60_000)
    writer(IntentProposed(T0, proposed))
    writer(IntentProposed(T0 + 60_000, refused))
    writer(IntentRejected(T0 + 60_000, refused, "risk_per_trade", "The stop is too far away."))
    writer.flush()
    assert q.recent_intents(db, ACCOUNT) == [refused, proposed]
    [why] = q.recent_rejections(db, ACCOUNT)
    assert (why.code, why.message, why.ts, why.agent) == (
        "risk_per_trade",
        "The stop is too far away.",
        T0 + 60_000,
        "breakout",
    )
    assert (why.entry_price, why.stop_loss, why.take_profit) == (
        refused.entry_price,
        refused.stop_loss,
        refused.take_profit,
    )
    assert (why.symbol, why.side) == (SYMBOL, refused.side)
    assert q.recent_rejections(db, "bob") == []


def test_account_events_and_account_row_follow_state_and_pause(
    db: sa.Engine, writer: StoreWriter
) -> None:
    writer.upsert_account(spec(), TradingState.ACTIVE, False, T0)
    writer.flush()
    writer(BreakerTripped(T0 + 1, ACCOUNT, "daily_loss", "Lost 4 % today."))
    writer(
        AccountStateChanged(T0 + 1, ACCOUNT, TradingState.ACTIVE, TradingState.HALTED, "breaker")
    )
    writer(KillSwitchChanged(T0 + 2, ACCOUNT, True, "investor asked", "telegram:42", flatten=True))
    writer(KillSwitchChanged(T0 + 3, "global", True, "exchange outage", "operator"))
    writer(InvariantViolated(T0 + 4, ACCOUNT, "equity", "cash + positions != equity"))
    writer(CandleClosed(T0 + 5, Candle(SYMBOL, T0, 1.0, 1.0, 1.0, 1.0, 1.0)))  # not stored
    writer.flush()

    [account] = q.list_accounts(db)
    assert (account.state, account.paused, account.updated_at) == ("halted", True, T0 + 2)
    assert account.created_at == T0
    assert account.spec == spec()
    events = q.account_events(db)
    assert [(e.scope, e.kind, e.old, e.new, e.actor, e.flatten, e.ts) for e in events] == [
        (ACCOUNT, "invariant", "", "equity", "system", False, T0 + 4),
        ("global", "kill_switch", "", "engaged", "operator", False, T0 + 3),
        (ACCOUNT, "kill_switch", "", "engaged", "telegram:42", True, T0 + 2),
        (ACCOUNT, "state", "active", "halted", "system", False, T0 + 1),
        (ACCOUNT, "breaker", "", "daily_loss", "system", False, T0 + 1),
    ]
    assert [e.reason for e in q.account_events(db, scope="global")] == ["exchange outage"]
    assert [e.new for e in q.account_events(db, kind="state")] == ["halted"]


def test_upsert_account_updates_settings_but_keeps_created_at(
    db: sa.Engine, writer: StoreWriter
) -> None:
    writer.upsert_account(spec(), "active", False, T0)
    writer.upsert_account(spec("bob"), "active", False, T0)
    writer.flush()
    # A state event before the next upsert is superseded by it: the upsert is the latest truth.
    writer(AccountStateChanged(T0 + 5, ACCOUNT, TradingState.ACTIVE, TradingState.HALTED, "x"))
    writer.upsert_account(spec(capital="250.00"), TradingState.REDUCING, True, T0 + 10)
    writer.flush()
    alice, bob = q.list_accounts(db)
    assert (alice.account_id, bob.account_id) == (ACCOUNT, "bob")
    assert (alice.capital, alice.state, alice.paused) == (Decimal("250.00"), "reducing", True)
    assert (alice.created_at, alice.updated_at) == (T0, T0 + 10)
    assert str(alice.capital) == "250.00"
    assert bob.state == "active"


def test_checkpoint_round_trip_and_overwrite(db: sa.Engine, writer: StoreWriter) -> None:
    assert q.load_checkpoint(db, "replay") is None
    payload = {"candles_seen": 600, "marks": {SYMBOL: "0.0912300000000000000001"}, "x": [1, None]}
    writer.flush(("replay", T0, payload))
    assert q.load_checkpoint(db, "replay") == (T0, payload)
    writer.flush(("replay", T0 + 1, {"candles_seen": 700}))
    writer.flush(("live", T0 + 2, {"candles_seen": 1}))
    assert q.load_checkpoint(db, "replay") == (T0 + 1, {"candles_seen": 700})
    assert q.load_checkpoint(db, "live") == (T0 + 2, {"candles_seen": 1})
    assert _count(db, m.checkpoints) == 2


def test_pending_stats_and_empty_flush(db: sa.Engine, writer: StoreWriter) -> None:
    assert writer.flush() == 0
    assert writer.stats.flushes == 0
    _, _, first, second = filled_entry()
    writer(FillBooked(first.ts, first, "entry", "breakout"))
    writer(FillBooked(second.ts, second, "entry", "breakout"))
    writer(CandleClosed(T0, Candle(SYMBOL, T0, 1.0, 1.0, 1.0, 1.0, 1.0)))
    assert writer.pending == 2
    assert writer.flush(("c", T0, {})) == 3
    assert writer.pending == 0
    assert writer.stats.flushes == 1
    assert writer.stats.rows == {"fills": 2, "checkpoints": 1}
    assert writer.stats.total_rows == 3
    assert writer.stats.flush_seconds > 0
    assert _count(db, m.fills) == 2


def test_a_detached_batch_stays_visible_until_it_is_written(
    db: sa.Engine, writer: StoreWriter
) -> None:
    """checkpoint_off_loop detaches on the event loop and writes from a thread: a read in
    between must still see the rows (read-your-writes), then see them in the store."""
    _, snapshots, _, _ = filled_entry()
    previous = OrderStatus.NEW
    for snap in snapshots:
        writer(OrderUpdated(snap.updated_at, snap, previous))
        previous = snap.status
    rows = writer.pending
    assert rows > 0
    batch = writer.detach()
    assert writer.pending == 0
    assert sum(b.size for b in writer.unsaved()) == rows, "the detached rows vanished"
    writer.write(batch)
    assert sum(b.size for b in writer.unsaved()) == 0
    assert q.recent_orders(db, ACCOUNT)

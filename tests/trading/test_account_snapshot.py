"""An account's runtime state across a restart, and the adjustments reconciliation leaves
for a later fill to explain (the survivors of ``make mutate AREA=accounts`` in
``trading/account.py``).

A checkpoint restores every field a restart must keep: an account restored with its
close-only report, its coins held apart, a pause's figures or its adjustments lost would
trade, or book, as it must not. A snapshot from before a field existed loads with that
field empty, and loading replaces what the runtime held rather than adding to it."""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal
from typing import Any

from rampart.domain.positions import Adjustment
from rampart.risk.breakers import BreakerState
from rampart.risk.restrictions import position_loss
from rampart.trading.account import AccountRuntime

from .helpers import SYMBOL, open_long

D = Decimal
OPTIONAL = (
    "pause_restriction",
    "blocked",
    "guarded",
    "close_only",
    "unexplained_order",
    "adjustments",
    "held_apart",
    "fill_ids",
    "bracket_book",
)
"""Keys older snapshots lack."""


def _fresh(acct: AccountRuntime) -> AccountRuntime:
    return AccountRuntime(acct.spec, acct.profile, BreakerState())


def _everything_set() -> AccountRuntime:
    """Account a1 with a long open (its bracket resting) and every other field set."""

    async def go() -> AccountRuntime:
        engine, _ = await open_long("moderate")
        return engine.accounts["a1"]

    acct = asyncio.run(go())
    assert acct.orders and acct.brackets and acct.seq > 0 and acct.recent_order_ts
    acct.pending_cancel = {next(iter(acct.orders))}
    acct.paused, acct.pause_reason = True, "lost 60 USDT on BTC/USDT"
    acct.pause_restriction = position_loss(SYMBOL, D(60), D(10000), acct.profile, "USDT", 90_000)
    acct.next_equity_snapshot_ts = 3_600_000
    acct.blocked = {SYMBOL: "max_open_positions"}
    acct.bracket_book.hold(SYMBOL)
    acct.bracket_book.hold("ETH/USDT")
    acct.close_only, acct.unexplained_order = "an order Rampart did not send", "x-9"
    acct.add_adjustment(Adjustment(SYMBOL, D("0.5"), D("101.5"), 70_000, True))
    acct.add_adjustment(Adjustment(SYMBOL, D("0.25"), D("99"), 80_000))
    acct.add_adjustment(Adjustment("ETH/USDT", D(2), D(2000), 80_000))
    acct.held_apart = {SYMBOL: D("0.3")}
    for fill_id in ("t-1", "t-2", "t-3"):
        acct.note_fill(fill_id)
    return acct


def _through_json(acct: AccountRuntime) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(json.dumps(acct.to_snapshot()))
    return data


def test_a_restored_account_has_every_field_it_was_saved_with() -> None:
    acct = _everything_set()
    saved = _through_json(acct)
    back = _fresh(acct)
    back.load_snapshot(saved)

    assert _through_json(back) == saved
    assert back.ledger.cash == acct.ledger.cash
    assert back.ledger.positions[SYMBOL].qty == acct.ledger.positions[SYMBOL].qty
    assert back.orders == acct.orders
    assert back.brackets == acct.brackets
    assert back.pending_cancel == acct.pending_cancel
    assert back.seq == acct.seq
    assert list(back.recent_order_ts) == list(acct.recent_order_ts)
    assert back.breakers == acct.breakers
    assert (back.paused, back.pause_reason) == (True, "lost 60 USDT on BTC/USDT")
    assert back.pause_restriction == acct.pause_restriction
    assert back.next_equity_snapshot_ts == 3_600_000
    assert back.blocked == {SYMBOL: "max_open_positions"}
    assert back.guarded == {SYMBOL, "ETH/USDT"}
    assert (back.close_only, back.unexplained_order) == (acct.close_only, "x-9")
    assert back.adjustments == acct.adjustments
    assert [a.cash_settled for a in back.adjustments[SYMBOL]] == [True, False]
    assert back.held_apart == {SYMBOL: D("0.3")}
    assert all(back.fill_seen(f) for f in ("t-1", "t-2", "t-3"))
    assert not back.fill_seen("t-4")
    # The next order's id follows the saved sequence: never an id the venue already knows.
    assert back.next_client_id(acct.orders[next(iter(acct.orders))].role) == (
        acct.next_client_id(acct.orders[next(iter(acct.orders))].role)
    )


def test_an_older_snapshot_loads_with_the_newer_fields_empty() -> None:
    acct = _everything_set()
    saved = {k: v for k, v in _through_json(acct).items() if k not in OPTIONAL}
    back = _fresh(acct)
    back.load_snapshot(saved)
    assert back.pause_restriction is None
    assert (back.blocked, back.guarded, back.held_apart, back.adjustments) == ({}, set(), {}, {})
    assert (back.close_only, back.unexplained_order) == ("", "")
    assert not back.fill_seen("t-1")
    assert back.paused and back.orders == acct.orders  # the rest as saved


def test_loading_replaces_what_the_runtime_held() -> None:
    acct = _everything_set()
    empty = _fresh(acct)
    saved = _through_json(empty)
    acct.load_snapshot(saved)
    assert _through_json(acct) == saved
    assert acct.adjustments == {} and not acct.fill_seen("t-1")
    assert acct.orders == {} and acct.brackets == {} and acct.pending_cancel == set()


def test_an_adjustment_is_explained_by_later_fills_part_by_part() -> None:
    acct = _fresh(_everything_set())
    assert acct.take_adjustment(SYMBOL, D(1)) is None  # none on the symbol: no error
    acct.add_adjustment(Adjustment(SYMBOL, D("0.5"), D("101.5"), 70_000, True))
    acct.add_adjustment(Adjustment(SYMBOL, D("2"), D("99"), 80_000))
    assert acct.take_adjustment(SYMBOL, D(3)) is None  # no single adjustment that large
    part = acct.take_adjustment(SYMBOL, D("0.2"))
    assert part == Adjustment(SYMBOL, D("0.2"), D("101.5"), 70_000, True)
    assert [a.qty for a in acct.adjustments[SYMBOL]] == [D("0.3"), D(2)]  # 0.3 left of it
    rest = acct.take_adjustment(SYMBOL, D("0.3"))
    assert rest == Adjustment(SYMBOL, D("0.3"), D("101.5"), 70_000, True)
    assert acct.adjustments[SYMBOL] == [Adjustment(SYMBOL, D(2), D(99), 80_000)]
    # Larger than what is left of the first: the next one that is large enough explains it.
    assert acct.take_adjustment(SYMBOL, D("1.5")) == Adjustment(SYMBOL, D("1.5"), D(99), 80_000)
    assert acct.take_adjustment(SYMBOL, D("0.5")) == Adjustment(SYMBOL, D("0.5"), D(99), 80_000)
    assert SYMBOL not in acct.adjustments  # all explained: the symbol is dropped


def test_cash_settled_marks_only_the_adjustments_made_at_that_time() -> None:
    acct = _fresh(_everything_set())
    acct.add_adjustment(Adjustment(SYMBOL, D(1), D(100), 70_000))
    acct.add_adjustment(Adjustment(SYMBOL, D(2), D(100), 80_000))
    acct.add_adjustment(Adjustment("ETH/USDT", D(3), D(2000), 80_000))
    acct.settle_adjustments(80_000)
    assert [a.cash_settled for a in acct.adjustments[SYMBOL]] == [False, True]
    assert [a.cash_settled for a in acct.adjustments["ETH/USDT"]] == [True]


def test_fill_ids_are_remembered_up_to_the_limit_oldest_forgotten_first() -> None:
    from rampart.trading.account import FILL_IDS_KEPT

    acct = _fresh(_everything_set())
    for i in range(FILL_IDS_KEPT):
        acct.note_fill(f"f-{i}")
    acct.note_fill("f-0")  # seen already: not added again, nothing forgotten
    assert acct.fill_seen("f-0") and acct.fill_seen(f"f-{FILL_IDS_KEPT - 1}")
    acct.note_fill("f-new")
    assert not acct.fill_seen("f-0")  # the oldest made room
    assert acct.fill_seen("f-1") and acct.fill_seen("f-new")
    assert len(acct.to_snapshot()["fill_ids"]) == FILL_IDS_KEPT


def test_the_recent_orders_window_keeps_exactly_the_last_minutes_submits() -> None:
    """What the risk engine's orders-per-minute limit counts from: an order sent exactly a
    minute ago has aged out (as the limit counts), a younger one is kept; trimming everything
    would let an account send without limit."""
    acct = _fresh(_everything_set())
    acct.recent_order_ts.clear()
    for ts in (0, 30_000, 59_999):
        acct.note_submit(ts)
    assert list(acct.recent_order_ts) == [0, 30_000, 59_999]
    acct.note_submit(60_000)  # the first is a minute old now: dropped as this one is noted
    assert list(acct.recent_order_ts) == [30_000, 59_999, 60_000]
    acct.trim_recent(90_000)
    assert list(acct.recent_order_ts) == [59_999, 60_000]
    acct.trim_recent(119_999)
    assert list(acct.recent_order_ts) == [60_000]


def test_a_new_account_starts_clean_and_its_histories_keep_the_last_50() -> None:
    from rampart.trading.account import Rejection

    acct = _fresh(_everything_set())
    assert (acct.paused, acct.pause_reason, acct.pause_restriction) == (False, "", None)
    assert (acct.close_only, acct.unexplained_order, acct.repeated_rejections) == ("", "", 0)
    assert acct.next_equity_snapshot_ts == 0  # the first equity snapshot is due at once
    orders = _everything_set().recent_orders
    for i in range(60):
        acct.rejections.append(Rejection(i, SYMBOL, "max_open_positions", "full", "trend"))
        acct.recent_orders.append(orders[0])
    assert len(acct.rejections) == 50 and acct.rejections[0].ts == 10  # the oldest 10 dropped
    assert len(acct.recent_orders) == 50

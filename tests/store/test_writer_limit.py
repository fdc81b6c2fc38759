"""``over_limit`` counts the buffer only once a cheap bound passes the limit: it must still
say exactly whether more rows than the limit are buffered, whatever the events were."""

from __future__ import annotations

import sqlalchemy as sa

from rampart.domain.accounts import TradingState
from rampart.domain.events import (
    AccountStateChanged,
    BreakerTripped,
    Event,
    KillSwitchChanged,
    OrderUpdated,
)
from rampart.domain.orders import OrderStatus
from rampart.store.writer import StoreWriter

from .factories import ACCOUNT, T0, filled_entry, spec


def _events() -> list[Event]:
    # Events that add two rows each (an order and its transition, a log row and a state or
    # pause) between ones that add one or none.
    _, snapshots, _, _ = filled_entry()
    events: list[Event] = []
    previous = OrderStatus.NEW
    for snap in snapshots:
        events.append(OrderUpdated(snap.updated_at, snap, previous))
        previous = snap.status
    for i in range(3):
        events.append(
            AccountStateChanged(
                T0 + i, f"acct-{i}", TradingState.ACTIVE, TradingState.HALTED, "breaker"
            )
        )
        events.append(KillSwitchChanged(T0 + i, f"other-{i}", True, "asked", "operator"))
        events.append(BreakerTripped(T0 + i, ACCOUNT, "daily_loss", "Lost 4 % today."))
    return events


def test_over_limit_says_exactly_whether_the_buffer_passed_the_limit(db: sa.Engine) -> None:
    for limit in range(0, 25):
        writer = StoreWriter(db, max_unsaved=limit)
        for event in _events():
            writer(event)
            assert writer.over_limit == (writer.pending > limit), (limit, event)
        writer.upsert_account(spec(), TradingState.ACTIVE, False, T0)
        assert writer.over_limit == (writer.pending > limit)


def test_over_limit_after_a_failed_write_is_put_back(db: sa.Engine) -> None:
    writer = StoreWriter(db, max_unsaved=5)
    events = _events()
    for event in events[:4]:
        writer(event)
    batch = writer.detach()
    assert not writer.over_limit
    for event in events[4:7]:
        writer(event)
    writer.restore(batch)  # the older rows come back under the newer ones
    assert writer.pending > 5
    assert writer.over_limit

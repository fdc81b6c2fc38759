"""A shard lost and claimed again by the same worker: the trader opened under the old lease is
stale, and the new token must not let it write or act (seen in a fleet chaos run).

Seen in the chaos run: a worker paused past its lease lost a shard; another worker took it,
booked fills and handed it back; the first worker, awake, claimed it again before it had dropped
its old trader (dropping awaits the streams' close). The worker's fence checked the worker's
current token for the shard, so the stale trader's checkpoint went in under the new claim, and
the new trader resumed from books that missed what the other worker had booked: fills booked
twice, a phantom adjustment. Both databases."""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial
from types import SimpleNamespace
from typing import Any

import pytest
import sqlalchemy as sa

from rampart.clock import SimClock
from rampart.domain.events import OrderUpdated
from rampart.domain.orders import OrderStatus
from rampart.fleet.lease_open import fence, holds
from rampart.store import models as m
from rampart.store.db import open_database
from rampart.store.leases import FencedOut, ShardLeases
from rampart.store.writer import StoreWriter
from tests.store.factories import entry_order

TTL_MS = 10_000


@pytest.fixture
def db(db_url: str) -> Iterator[sa.Engine]:
    engine = open_database(db_url)
    try:
        yield engine
    finally:
        engine.dispose()


class _Counter:
    def __init__(self) -> None:
        self.n = 0

    def labels(self, **_: str) -> _Counter:
        return self

    def inc(self) -> None:
        self.n += 1


def _worker(leases: ShardLeases) -> Any:
    return SimpleNamespace(
        leases=leases, metrics=SimpleNamespace(scale=SimpleNamespace(fenced=_Counter()))
    )


def _event(seq: int) -> OrderUpdated:
    order = entry_order(seq=seq)
    return OrderUpdated(order.created_at, order.snapshot(), OrderStatus.NEW)


def test_a_trader_opened_under_a_lease_since_lost_is_fenced_after_a_new_claim(
    db: sa.Engine,
) -> None:
    clock = SimClock(0)
    a = ShardLeases(db, "worker-a", clock, TTL_MS)
    b = ShardLeases(db, "worker-b", clock, TTL_MS)
    a.ensure(1)
    first = a.acquire(0)
    assert first is not None
    worker = _worker(a)
    stale = StoreWriter(db, fence=partial(fence, worker, 0, first.token))
    clock.advance(TTL_MS + 1)  # a is paused past its lease: b takes the shard, then hands it back
    taken = b.acquire(0)
    assert taken is not None
    b.release(taken)
    again = a.acquire(0)  # a, awake, claims it again before its old trader is dropped
    assert again is not None and again.token > taken.token > first.token
    assert holds(worker, 0, again.token) and not holds(worker, 0, first.token)
    stale(_event(1))
    with pytest.raises(FencedOut, match="no longer holds shard 0"):
        stale.flush()
    with db.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(m.orders)).scalar_one() == 0
    fresh = StoreWriter(db, fence=partial(fence, worker, 0, again.token))
    fresh(_event(2))
    assert fresh.flush() == 2

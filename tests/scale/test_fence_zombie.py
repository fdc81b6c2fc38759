"""The fence under the faults that defeat a check by worker name: two processes that
run under one worker name, and a zombie whose lease is taken while its checkpoint's transaction
is open. Each one's late write is refused by the token, nothing of it is saved, and the zombie
drops what it had not saved (kept, it would stall every later checkpoint and count as the
database being down). Both databases."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from functools import partial
from typing import Any

import pytest
import sqlalchemy as sa

from rampart.clock import SimClock
from rampart.config import AccountConfig, load_settings
from rampart.domain.events import FillBooked, OrderUpdated
from rampart.domain.orders import OrderStatus
from rampart.fleet.shard import ShardTrader, checkpoint_name
from rampart.store import models as m
from rampart.store.db import open_database
from rampart.store.leases import FencedOut, ShardLeases
from rampart.store.queries import load_checkpoint
from rampart.store.writer import StoreWriter
from rampart.wiring.fleet_parts import shard_trader
from rampart.wiring.instruments import instruments_for
from tests.store.factories import T0, entry_order, fill_for

TTL_MS = 10_000
NAME = "worker-1"


@pytest.fixture
def db(db_url: str) -> Iterator[sa.Engine]:
    engine = open_database(db_url)
    try:
        yield engine
    finally:
        engine.dispose()


def _fill_ids(db: sa.Engine) -> list[str]:
    with db.connect() as conn:
        return sorted(str(r[0]) for r in conn.execute(sa.select(m.fills.c.fill_id)))


def _orders(db: sa.Engine) -> list[str]:
    with db.connect() as conn:
        return sorted(str(r[0]) for r in conn.execute(sa.select(m.orders.c.client_id)))


def test_a_second_process_under_the_same_worker_name_fences_the_first(db: sa.Engine) -> None:
    clock = SimClock(1_000)
    first = ShardLeases(db, NAME, clock, TTL_MS)
    first.ensure(1)
    assert first.acquire(0) is not None
    # The first process stops renewing (paused); a second one started under the same name
    # (a restart while the old process still lives) takes the shard once the lease ran out.
    clock.advance(TTL_MS)
    second = ShardLeases(db, NAME, clock, TTL_MS)
    assert second.acquire(0) is not None

    late = StoreWriter(db, fence=partial(first.fence, shards=[0]))
    late(OrderUpdated(T0, entry_order(1), OrderStatus.NEW))
    with pytest.raises(FencedOut):
        late.flush()
    current = StoreWriter(db, fence=partial(second.fence, shards=[0]))
    current(OrderUpdated(T0, entry_order(2), OrderStatus.NEW))
    current.flush()

    assert _orders(db) == [entry_order(2).client_id]
    assert late.pending == 0  # the refused rows are dropped, not kept for a retry
    assert not first.valid(0)
    assert first.renew(first.leases.get(0) or second.leases[0]) is None


def _trader(db_url: str, db: sa.Engine, fence: Any, clock: SimClock) -> ShardTrader:
    settings = load_settings(
        store={"url": db_url},
        feed={"kind": "synthetic", "symbols": ["BTC/USDT"], "seed": 7},
        accounts=[
            AccountConfig(id="acct-00", agent="trend", profile="moderate", symbols=["BTC/USDT"])
        ],
        alerts={"enabled": False},
        api={"enabled": False},
        scale={"shards": 1},
    )
    return shard_trader(
        settings,
        0,
        1,
        clock,
        instruments_for(["BTC/USDT"]),
        db=db,
        fence=fence,
        wrap_venue=lambda venue: venue,
    )


def test_a_zombie_that_wakes_mid_checkpoint_has_its_write_refused_and_drops_it(
    db_url: str, db: sa.Engine
) -> None:
    clock = SimClock(T0)
    zombie = ShardLeases(db, "worker-a", clock, TTL_MS)
    holder = ShardLeases(db, "worker-b", clock, TTL_MS)
    zombie.ensure(1)
    assert zombie.acquire(0) is not None

    def taken_mid_write(conn: sa.Connection) -> None:
        # The zombie's checkpoint transaction is open; it was paused past its lease and the
        # other worker took the shard (on its own connection) before the fence was read.
        clock.advance(TTL_MS)
        assert holder.acquire(0) is not None
        zombie.fence(conn, [0])

    async def scenario() -> None:
        trader = _trader(db_url, db, taken_mid_write, clock)
        await trader.take([])
        session = trader.session
        writer = session.writer
        assert writer is not None
        saved = load_checkpoint(db, checkpoint_name(0))
        entry = entry_order(1, account_id="acct-00")
        # A fill the zombie booked that the venue does not have (say, a guess): never saved.
        phantom = fill_for(entry, "adj-zombie", "0.100", "0.09120", T0 + 20)
        writer(OrderUpdated(T0, entry, OrderStatus.NEW))
        writer(FillBooked(phantom.ts, phantom, "entry", "trend"))

        assert await session.checkpoint_off_loop() is False

        assert load_checkpoint(db, checkpoint_name(0)) == saved
        assert _fill_ids(db) == []
        # Dropped: neither buffered for a retry nor still "being written".
        assert writer.pending == 0
        assert [batch.size for batch in writer.unsaved()] == [0]
        assert not session.engine.store_down  # a lost shard, not a database outage
        await trader.drop()

        # The new holder rebuilds from the venue: its rows, and only its, are saved.
        real = fill_for(entry, "v-7001", "0.100", "0.09125", T0 + 20)
        rebuilt = StoreWriter(db, fence=partial(holder.fence, shards=[0]))
        rebuilt(OrderUpdated(T0, entry, OrderStatus.NEW))
        rebuilt(FillBooked(real.ts, real, "entry", "trend"))
        rebuilt.flush((checkpoint_name(0), clock.now_ms(), {"seen": {}}))
        assert _fill_ids(db) == ["v-7001"]
        assert rebuilt.pending == 0

    asyncio.run(scenario())


def test_a_stale_release_under_the_same_worker_name_leaves_the_new_holders_lease(
    db: sa.Engine,
) -> None:
    """The first process, woken, gives back the lease it still
    remembers; the row is the second process's now (same name, a newer token) and stays so:
    released by name, the shard would be free for any worker while the second trades it."""
    clock = SimClock(1_000)
    first = ShardLeases(db, NAME, clock, TTL_MS)
    first.ensure(1)
    stale = first.acquire(0)
    assert stale is not None
    clock.advance(TTL_MS)
    second = ShardLeases(db, NAME, clock, TTL_MS)
    held = second.acquire(0)
    assert held is not None and held.token == stale.token + 1

    first.release(stale)

    row = second.table()[0]
    assert (row.owner, row.token, row.expires_ms) == (NAME, held.token, held.expires_ms)
    assert second.renew(held) is not None
    other = ShardLeases(db, "worker-2", clock, TTL_MS)
    assert other.acquire(0) is None  # not free: the second process still holds it
    writer = StoreWriter(db, fence=partial(second.fence, shards=[0]))
    writer(OrderUpdated(T0, entry_order(3), OrderStatus.NEW))
    writer.flush()
    assert _orders(db) == [entry_order(3).client_id]

"""A worker frozen in the middle of a write statement: its shared lock on the shard's
row outlives its lease, since the server ends only a transaction idle between statements. The
chaos runs saw its shards stay unheld until it woke (SIGSTOP 12 s in CI, 40 s in the issue).
A taker that finds the row locked by a holder whose lease ran out ends that holder's
transaction and takes the shard; a live holder's write is waited for, never ended."""

from __future__ import annotations

import contextlib
import threading
import time
import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from rampart.clock import SimClock
from rampart.domain.errors import StoreError
from rampart.store.db import bound_waits, open_database
from rampart.store.frozen_sessions import session_name
from rampart.store.leases import ShardLeases

TTL_MS = 6_000


@pytest.fixture
def names() -> tuple[str, str]:
    """The holder's and the taker's names, this test's own: a taker ends sessions by their
    name, server-wide, and another run of this test may be under way on the same server."""
    tag = uuid.uuid4().hex[:8]
    return f"frozen-{tag}", f"taker-{tag}"


@pytest.fixture
def engines(pg_url: str, names: tuple[str, str]) -> Iterator[tuple[sa.Engine, sa.Engine]]:
    frozen = open_database(pg_url)
    bound_waits(frozen, 60_000, name=session_name(names[0]))
    taker = open_database(pg_url)
    bound_waits(taker, 60_000, name=session_name(names[1]))
    try:
        yield frozen, taker
    finally:
        frozen.dispose()
        taker.dispose()


def _write_under_way(engine: sa.Engine, leases: ShardLeases, started: threading.Event) -> None:
    """A write that checked its fence and is still running a statement (as a COPY whose
    process froze before sending the rest of its rows)."""
    try:
        # Ended by the taker: the error is what the test wants.
        with contextlib.suppress(sa.exc.DBAPIError), engine.begin() as conn:
            leases.fence(conn, [0])
            started.set()
            conn.exec_driver_sql("SELECT pg_sleep(20)")
    finally:
        started.set()


def test_a_taker_ends_the_write_of_a_holder_whose_lease_ran_out(
    engines: tuple[sa.Engine, sa.Engine], names: tuple[str, str]
) -> None:
    frozen_db, taker_db = engines
    # The server compares the transaction's start with the lease's end: the clock starts at
    # the wall's time, then is stepped by hand.
    clock = SimClock(time.time_ns() // 1_000_000)
    frozen = ShardLeases(frozen_db, names[0], clock, TTL_MS)
    frozen.ensure(1)
    taker = ShardLeases(taker_db, names[1], clock, TTL_MS)
    with taker_db.begin() as conn:  # a clean row: another test's holder may be left in it
        conn.exec_driver_sql("UPDATE shard_leases SET owner = '', expires_ms = 0 WHERE shard = 0")
    assert frozen.acquire(0) is not None
    started = threading.Event()
    writer = threading.Thread(target=_write_under_way, args=(frozen_db, frozen, started))
    writer.start()
    assert started.wait(10)
    try:
        # The lease is still live: the taker does not take it, and ends nothing.
        assert taker.acquire(0) is None
        assert writer.is_alive()
        clock.advance(TTL_MS + 1)  # the frozen holder's lease has run out
        lease = taker.acquire(0)
        assert lease is not None, "the frozen holder's write still holds the shard"
        assert lease.token == 2
    finally:
        writer.join(30)
    assert not writer.is_alive()
    # The frozen holder's late write is refused by the token.
    with pytest.raises(StoreError), frozen_db.begin() as conn:
        frozen.fence(conn, [0])

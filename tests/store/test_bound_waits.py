"""A worker frozen in the middle of a write (SIGSTOP, a long pause) holds its shard rows' locks
until its session ends. With ``bound_waits`` PostgreSQL ends that session once it
has been idle in its transaction for the bound, and another worker's takeover, which gives up
a wait for a row after a second and tries again, then gets the shard; the frozen session's
next statement fails. Without the bound the takeover would wait for as long as the peer
sleeps."""

from __future__ import annotations

import contextlib
import time

import pytest
import sqlalchemy as sa

from rampart.clock import SimClock
from rampart.domain.errors import StoreError
from rampart.store.db import bound_waits, open_database
from rampart.store.leases import ShardLeases
from rampart.store.models.scale import shard_leases

HANG_GUARD_S = 30.0
"""Only so that a broken test fails instead of hanging; the server's timeout is what ends it."""


def test_a_frozen_writers_session_is_ended_and_its_shard_taken(pg_url: str) -> None:
    clock = SimClock(1_000_000)
    frozen_db = open_database(pg_url)
    bound_waits(frozen_db, idle_ms=500)
    frozen = ShardLeases(frozen_db, "w2", clock, 6_000)
    frozen.ensure(1)
    assert frozen.acquire(0) is not None

    conn = frozen_db.connect()
    tx = conn.begin()  # w2 writes under its lease, then freezes before committing
    rows = sa.select(shard_leases.c.shard).where(shard_leases.c.shard == 0).with_for_update()
    conn.execute(rows)

    clock.advance(7_000)  # w2's lease has run out by the clock
    taker_db = open_database(pg_url)
    taker = ShardLeases(taker_db, "w3", clock, 6_000)
    refused = 0
    deadline = time.monotonic() + HANG_GUARD_S
    try:
        while True:
            try:
                taken = taker.acquire(0)
                break
            except StoreError:  # a second's wait for the row, then the next round
                refused += 1
                assert time.monotonic() < deadline, "the frozen session was never ended"
        assert taken is not None and taken.token == 2
        with pytest.raises(sa.exc.DBAPIError):  # its session was ended by the server
            conn.execute(sa.select(1))
        assert refused <= 5
    finally:
        with contextlib.suppress(sa.exc.SQLAlchemyError):
            tx.rollback()
        conn.close()
        frozen_db.dispose()
        taker_db.dispose()

"""The take of a shard whose holder's transaction holds its row (PostgreSQL): each
condition of the takeover that ends a frozen holder's sessions, decided one at a time.

The holder's open transaction is a connection with a transaction begun and its fence read
(the shared row lock every write takes), left idle: what a worker frozen mid-write leaves
behind. Nothing waits on the wall clock: the taker's lock wait (``LOCK_WAIT_MS``) is what
takes time."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress

import pytest
import sqlalchemy as sa

from rampart.clock import SimClock
from rampart.store.db import bound_waits, open_database
from rampart.store.frozen_sessions import session_name
from rampart.store.leases import ShardLeases
from rampart.store.models.scale import shard_leases

TTL_MS = 6_000
IDLE_MS = 60_000
"""The server's idle timeout, far beyond a test: only the taker may end a session here."""


@contextmanager
def _engine(url: str, worker: str | None) -> Iterator[sa.Engine]:
    engine = open_database(url)
    bound_waits(engine, IDLE_MS, name=session_name(worker) if worker else None)
    try:
        yield engine
    finally:
        engine.dispose()


@pytest.fixture
def world(pg_url: str) -> Iterator[tuple[ShardLeases, ShardLeases, SimClock, str]]:
    """A holder ``frozen`` with shard 0 taken on a clock at the wall's time (the server
    compares a transaction's start with the lease's end), and a taker."""
    clock = SimClock(time.time_ns() // 1_000_000)
    # Names of this test's own: a taker ends sessions by their name, server-wide.
    holder, taker = f"frozen-{uuid.uuid4().hex[:8]}", f"taker-{uuid.uuid4().hex[:8]}"
    with _engine(pg_url, holder) as frozen_db, _engine(pg_url, taker) as taker_db:
        frozen = ShardLeases(frozen_db, holder, clock, TTL_MS)
        frozen.ensure(1)
        assert frozen.acquire(0) is not None
        yield frozen, ShardLeases(taker_db, taker, clock, TTL_MS), clock, pg_url


@contextmanager
def _write_open(leases: ShardLeases) -> Iterator[sa.Connection]:
    """The holder's write: its fence read, its transaction left open."""
    with leases.engine.connect() as conn:
        tx = conn.begin()
        leases.fence(conn, [0])
        try:
            yield conn
        finally:
            if tx.is_active:
                with suppress(sa.exc.SQLAlchemyError):  # its session may have been ended
                    tx.rollback()


def _owner(engine: sa.Engine) -> tuple[str, int]:
    query = sa.select(shard_leases.c.owner, shard_leases.c.token).where(shard_leases.c.shard == 0)
    with engine.connect() as conn:
        owner, token = conn.execute(query).one()
    return str(owner), int(token)


def test_a_live_holders_write_goes_on_and_its_shard_stays(
    world: tuple[ShardLeases, ShardLeases, SimClock, str],
) -> None:
    frozen, taker, clock, _ = world
    with _write_open(frozen) as conn:
        clock.advance(TTL_MS - 1)  # the holder's lease has a millisecond left
        assert taker.acquire(0) is None
        # Its session was not ended: the write goes on and commits.
        conn.execute(sa.select(1))
        conn.commit()
    assert _owner(taker.engine) == (frozen.owner, 1)
    assert taker.leases == {}


@pytest.mark.parametrize("past_end_ms", [0, 1])
def test_a_frozen_holders_shard_is_taken_from_the_millisecond_its_lease_ends(
    world: tuple[ShardLeases, ShardLeases, SimClock, str], past_end_ms: int
) -> None:
    """A lease ends at ``expires_ms`` (a take's ``expires_ms <= now``): a holder frozen in a
    write at that very millisecond is ended and its shard taken, as one frozen longer is."""
    frozen, taker, clock, _ = world
    with _write_open(frozen) as conn:
        clock.advance(TTL_MS + past_end_ms)
        lease = taker.acquire(0)
        assert lease is not None, "the frozen holder's write still holds the shard"
        assert lease.token == 2
        assert taker.leases == {0: lease}
        with pytest.raises(sa.exc.DBAPIError):  # its session was ended by the server
            conn.execute(sa.select(1))
    assert _owner(taker.engine) == (taker.owner, 2)


def test_a_take_still_locked_out_after_the_frozen_holder_is_ended_waits_for_the_next_round(
    world: tuple[ShardLeases, ShardLeases, SimClock, str],
) -> None:
    """Another session (not the holder's: an operator's, say) holds the row as well: the taker
    ends the frozen holder's, finds the row still locked, and gives up for this round instead
    of failing; once that session lets go, the next round takes the shard."""
    frozen, taker, clock, url = world
    with _write_open(frozen) as frozen_conn, _engine(url, None) as other_db:
        with other_db.connect() as other:
            held = other.begin()
            rows = sa.select(shard_leases.c.shard).where(shard_leases.c.shard == 0)
            other.execute(rows.with_for_update(read=True))
            clock.advance(TTL_MS + 1)
            assert taker.acquire(0) is None
            with pytest.raises(sa.exc.DBAPIError):  # the frozen holder's session was ended
                frozen_conn.execute(sa.select(1))
            assert _owner(taker.engine) == (frozen.owner, 1)
            held.rollback()
        lease = taker.acquire(0)
    assert lease is not None and lease.token == 2
    assert _owner(taker.engine) == (taker.owner, 2)

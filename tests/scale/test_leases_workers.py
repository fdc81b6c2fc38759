"""The worker table a lease round reads (the survivors of ``make mutate
AREA=fencing`` in ``store/leases.py``): each worker's heartbeat with its version, role and
metrics address as written; who counts as seen (within one lease's length, not at it); a
clean leave blanks that worker's metrics address only; and ``valid`` (held, not taken by
another, before the lease's end, not at it). Both databases."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from rampart.clock import SimClock
from rampart.store.db import open_database
from rampart.store.leases import (
    OPS,
    FencedOut,
    ShardLeases,
    lease_table,
)
from rampart.store.workers import Worker, worker_rows, workers_seen

TTL_MS = 10_000


@pytest.fixture
def db(db_url: str) -> Iterator[sa.Engine]:
    engine = open_database(db_url)
    try:
        yield engine
    finally:
        engine.dispose()


def _worker(db: sa.Engine, name: str, clock: SimClock, **kw: str) -> ShardLeases:
    leases = ShardLeases(db, name, clock, TTL_MS, **kw)
    leases.beat()
    return leases


def test_workers_are_seen_with_their_version_role_and_metrics_until_a_lease_passes(
    db: sa.Engine,
) -> None:
    clock = SimClock(46_000)
    # w-b beats first: the table is read in name order, not the order rows were written.
    b = ShardLeases(db, "w-b", clock, TTL_MS, version="1.5.0", role="standby")
    b.metrics_url = "http://b:9100"
    b.beat()
    clock.advance(4_000)
    a = _worker(db, "w-a", clock, version="1.4.0", role="active", metrics_url="http://a:9100")
    clock.advance(4_000)
    b.beat()
    both = {
        "w-a": Worker(50_000, "1.4.0", "active", "http://a:9100"),
        "w-b": Worker(54_000, "1.5.0", "standby", "http://b:9100"),
    }
    assert worker_rows(db) == both
    assert list(worker_rows(db)) == ["w-a", "w-b"]
    assert list(workers_seen(db)) == ["w-a", "w-b"]  # `rampart shards --json` lists them so
    assert a.seen() == both
    assert a.workers() == {"w-a", "w-b"}
    clock.set(50_000 + TTL_MS - 1)
    assert set(a.seen()) == {"w-a", "w-b"}
    clock.set(50_000 + TTL_MS)  # w-a's heartbeat is a whole lease old: no longer seen
    assert a.seen() == {"w-b": both["w-b"]}
    assert a.workers() == {"w-b"}


def test_a_clean_leave_blanks_only_that_workers_metrics_address(db: sa.Engine) -> None:
    clock = SimClock(50_000)
    a = _worker(db, "w-a", clock, version="1.4.0", metrics_url="http://a:9100")
    _worker(db, "w-b", clock, version="1.4.0", metrics_url="http://b:9100")
    a.leave()
    rows = worker_rows(db)
    assert rows["w-a"] == Worker(50_000, "1.4.0", "active", "")
    assert rows["w-b"].metrics_url == "http://b:9100"


def test_a_lease_is_valid_while_held_untaken_and_before_its_end(db: sa.Engine) -> None:
    clock = SimClock(1_000)
    leases = ShardLeases(db, "w-a", clock, TTL_MS)
    leases.ensure(2)
    lease = leases.acquire(0)
    assert lease is not None and lease.expires_ms == 1_000 + TTL_MS
    assert leases.valid(0)
    assert not leases.valid(1)  # never held
    assert leases.acquire(1) is not None and leases.valid(1)
    leases.taken.add(1)  # a fenced write found it taken
    assert not leases.valid(1)
    assert leases.valid(0)
    clock.set(lease.expires_ms - 1)
    assert leases.valid(0)
    clock.set(lease.expires_ms)  # at its end: a taker may hold it now
    assert not leases.valid(0)


def test_a_fenced_write_names_the_shard_and_who_holds_it_now(db: sa.Engine) -> None:
    """The refusal an operator reads in the worker's log (``checkpoint_fenced``): the shard,
    the stale token, and the holder with its token, or no one once the taker let it go."""
    clock = SimClock(1_000)
    stale = ShardLeases(db, "w-a", clock, TTL_MS)
    stale.ensure(1)
    assert stale.acquire(0) is not None
    clock.advance(TTL_MS)
    taker = ShardLeases(db, "w-b", clock, TTL_MS)
    taken = taker.acquire(0)
    assert taken is not None
    with db.begin() as conn, pytest.raises(FencedOut) as held:
        stale.fence(conn, [0])
    assert held.value.shard == 0
    assert held.value.message == (
        "Worker w-a no longer holds shard 0 (its token 1; w-b holds it with token 2): its write "
        "was refused, nothing of it was saved."
    )
    taker.release(taken)
    stale.taken.clear()
    with db.begin() as conn, pytest.raises(FencedOut) as freed:
        stale.fence(conn, [0])
    assert "(its token 1; no one holds it with token 2)" in freed.value.message


def test_a_write_for_one_shard_is_fenced_by_that_shards_lease_only(db: sa.Engine) -> None:
    """w-a holds shards 0 and 1; w-b takes 1. A write for shard 0 still goes through (its
    accounts are w-a's); one for 1, or for every shard held, is refused, each refusal
    counted (the worker's fenced-writes figure)."""
    clock = SimClock(1_000)
    a = ShardLeases(db, "w-a", clock, TTL_MS)
    a.ensure(2)
    assert a.acquire(0) is not None and a.acquire(1) is not None
    clock.advance(TTL_MS)
    assert a.renew(a.leases[0]) is not None  # 0 renewed, 1 left to run out
    b = ShardLeases(db, "w-b", clock, TTL_MS)
    assert b.acquire(1) is not None
    with db.begin() as conn:
        a.fence(conn, [0])
    assert a.fenced == 0
    for shards in ([1], None):
        with db.begin() as conn, pytest.raises(FencedOut) as refused:
            a.fence(conn, shards)
        assert refused.value.shard == 1
    assert a.fenced == 2
    assert a.taken == {1}


def test_a_shard_dropped_at_a_renewal_is_refused_without_reading_the_table(
    db: sa.Engine,
) -> None:
    clock = SimClock(1_000)
    a = ShardLeases(db, "w-a", clock, TTL_MS)
    a.ensure(2)
    assert a.acquire(0) is not None
    for _ in range(2):
        with db.begin() as conn, pytest.raises(FencedOut) as refused:
            a.fence(conn, [0, 1])  # 1 was never held, or lost at a renewal
        assert refused.value.shard == 1
        assert refused.value.message == (
            "Worker w-a no longer holds shard 1 (it was found taken at a lease renewal): its "
            "write was refused, nothing of it was saved."
        )
    assert a.fenced == 2


def test_a_takeover_waits_for_the_holders_write_in_flight(pg_url: str) -> None:
    """PostgreSQL: the fence reads the lease row FOR SHARE, so a taker whose UPDATE meets the
    write still open waits (up to its lock timeout) instead of taking the shard under it: a
    write that passed its fence commits before any other worker holds the shard."""
    db = open_database(pg_url)
    try:
        _takeover_waits(db)
    finally:
        db.dispose()


def _takeover_waits(db: sa.Engine) -> None:
    clock = SimClock(1_000)
    a = ShardLeases(db, "w-a", clock, TTL_MS)
    a.ensure(1)
    assert a.acquire(0) is not None
    clock.advance(TTL_MS)  # a's lease ran out: the shard may be taken
    b = ShardLeases(db, "w-b", clock, TTL_MS)
    with db.begin() as conn:
        a.fence(conn, [0])  # passes: nobody has taken it yet
        assert b.acquire(0) is None  # waits on the row a's write holds, then gives up
    taken = b.acquire(0)  # a's write committed: now it is b's
    assert taken is not None and taken.token == 2


def test_a_workers_writes_in_flight_together_both_pass_their_fence(pg_url: str) -> None:
    """PostgreSQL: the fence reads the lease row FOR SHARE, not FOR UPDATE, so two of one
    worker's writes at once (a checkpoint and the operator facade's entries on another thread)
    do not queue behind each other on the lease row; only a takeover's UPDATE waits."""
    db = open_database(pg_url)
    try:
        a = ShardLeases(db, "w-a", SimClock(1_000), TTL_MS)
        a.ensure(1)
        assert a.acquire(0) is not None
        with db.begin() as first:
            a.fence(first, [0])
            with db.begin() as second:
                second.exec_driver_sql("SET LOCAL lock_timeout = '2s'")
                a.fence(second, [0])  # an exclusive lock would wait for `first`, then fail
        assert a.fenced == 0
    finally:
        db.dispose()


def test_a_worker_made_with_its_name_only_is_listed_active_without_version_or_metrics(
    db: sa.Engine,
) -> None:
    """A worker made with its name only (the defaults) says no version, the active role and
    no metrics address: `rampart shards` and the fleet's scrape read those from its row."""
    _worker(db, "w-plain", SimClock(46_000))
    assert worker_rows(db) == {"w-plain": Worker(46_000, "", "active", "")}


def test_a_worker_without_a_name_is_refused_in_one_sentence(db: sa.Engine) -> None:
    with pytest.raises(ValueError, match=r"^a worker has a name$"):
        ShardLeases(db, "", SimClock(0), TTL_MS)


def test_workers_are_listed_by_name_whatever_order_they_beat_in(db: sa.Engine) -> None:
    clock = SimClock(46_000)
    for name in ("w-c", "w-a", "w-b"):
        _worker(db, name, clock)
        clock.advance(1)
    assert list(worker_rows(db)) == ["w-a", "w-b", "w-c"]
    assert list(workers_seen(db)) == ["w-a", "w-b", "w-c"]


def test_only_the_operations_role_makes_the_ops_leases_row(db: sa.Engine) -> None:
    """A worker's ``ensure`` makes its shards' rows only; the serving process's (``ops=True``)
    makes the ops lease's, which it then takes (killed mutants of ``ensure``: the ops row made
    by every worker, or by nobody, so that the operations role never held its lease)."""
    clock = SimClock(46_000)
    worker = _worker(db, "w-a", clock)
    worker.ensure(3)
    assert sorted(lease_table(db, shards_only=False)) == [0, 1, 2]
    ops = _worker(db, "serve", clock)
    ops.ensure(0, ops=True)
    assert sorted(lease_table(db, shards_only=False)) == [OPS, 0, 1, 2]
    assert ops.acquire(OPS) is not None

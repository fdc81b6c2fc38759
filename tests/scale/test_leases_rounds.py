"""A lease round's bookkeeping (the survivors of ``make mutate AREA=fencing`` in
``ShardLeases.step``, ``renew`` and ``release``): a blue-green step shares the eligible shards
with the workers of its own version only; how long a shard it takes was free counts from
when it first saw it free; a renewal that finds the shard taken forgets it (it is no longer
valid), one that succeeds extends it; a release frees the row at once for any worker, and
twice is harmless. Both databases."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from rampart.clock import SimClock
from rampart.domain.shards import FREE
from rampart.store.db import open_database
from rampart.store.leases import ShardLeases

TTL_MS = 10_000


@pytest.fixture
def db(db_url: str) -> Iterator[sa.Engine]:
    engine = open_database(db_url)
    try:
        yield engine
    finally:
        engine.dispose()


def _fleet(
    db: sa.Engine, clock: SimClock, new: tuple[str, ...] = ("w-c",)
) -> dict[str, ShardLeases]:
    """w-a and w-b on 1.4.0, ``new`` on 1.5.0 (a deploy's new version); four free shards."""
    versions = [("w-a", "1.4.0"), ("w-b", "1.4.0")] + [(n, "1.5.0") for n in new]
    fleet = {
        name: ShardLeases(db, name, clock, TTL_MS, version=version) for name, version in versions
    }
    fleet["w-a"].ensure(4)
    for w in fleet.values():
        w.beat()
    return fleet


def test_a_blue_green_step_shares_its_eligible_shards_with_its_version_only(
    db: sa.Engine,
) -> None:
    clock = SimClock(1_000)
    fleet = _fleet(db, clock)
    # w-c alone runs 1.5.0: both shards handed to the new version are its share.
    done = fleet["w-c"].step(eligible={2, 3})
    assert done.gained == (2, 3)
    assert sorted(fleet["w-c"].leases) == [2, 3]


def test_two_workers_of_the_new_version_share_its_eligible_shards(db: sa.Engine) -> None:
    clock = SimClock(1_000)
    fleet = _fleet(db, clock, new=("w-c", "w-d"))
    assert fleet["w-c"].step(eligible={2, 3}).gained == (2,)
    assert fleet["w-d"].step(eligible={2, 3}).gained == (3,)


def test_a_step_shares_with_the_peers_it_is_told_to_count(db: sa.Engine) -> None:
    clock = SimClock(1_000)
    fleet = _fleet(db, clock)
    # Counted with every live worker, w-c's share of the two eligible shards is one.
    done = fleet["w-c"].step(eligible={2, 3}, peers=lambda w: True)
    assert done.gained == (2,)


def test_a_step_without_eligible_shards_shares_everything_with_every_live_worker(
    db: sa.Engine,
) -> None:
    clock = SimClock(1_000)
    fleet = _fleet(db, clock)
    assert fleet["w-c"].step().gained == (0, 1)  # four shards over three workers: two


def test_how_long_a_taken_shard_was_free_counts_from_when_it_was_first_seen_free(
    db: sa.Engine,
) -> None:
    clock = SimClock(1_000)
    fleet = _fleet(db, clock)
    w = fleet["w-a"]
    assert w.step(take=False).gained == ()  # not ready: it only looks
    clock.advance(2_500)
    done = w.step()
    assert done.gained == (0, 1)
    assert done.unheld_ms == {0: 2_500, 1: 2_500}


def test_a_renewal_forgets_a_shard_taken_and_extends_one_still_held(db: sa.Engine) -> None:
    clock = SimClock(1_000)
    a = ShardLeases(db, "w-a", clock, TTL_MS)
    a.ensure(2)
    first, second = a.acquire(0), a.acquire(1)
    assert first is not None and second is not None
    clock.advance(TTL_MS)
    b = ShardLeases(db, "w-b", clock, TTL_MS)
    assert b.acquire(1) is not None
    renewed = a.renew(first)
    assert renewed is not None and renewed.expires_ms == clock.now_ms() + TTL_MS
    assert a.leases[0] == renewed and a.valid(0)
    assert a.renew(second) is None
    assert 1 not in a.leases and not a.valid(1)
    assert a.renew(second) is None  # asked again: still lost, no error


def test_a_release_frees_the_row_at_once_and_twice_is_harmless(db: sa.Engine) -> None:
    clock = SimClock(1_000)
    a = ShardLeases(db, "w-a", clock, TTL_MS)
    a.ensure(1)
    lease = a.acquire(0)
    assert lease is not None
    a.release(lease)
    row = a.table()[0]
    assert (row.owner, row.expires_ms) == (FREE, 0)
    assert 0 not in a.leases
    a.release(lease)  # already given back: nothing happens
    taken = ShardLeases(db, "w-b", clock, TTL_MS).acquire(0)  # at once, same instant
    assert taken is not None and taken.token == lease.token + 1


def test_a_shard_whose_holder_stopped_counts_unheld_from_its_leases_end(db: sa.Engine) -> None:
    clock = SimClock(1_000)
    a = ShardLeases(db, "w-a", clock, TTL_MS)
    a.ensure(2)
    assert a.acquire(0) is not None  # then w-a stops: no renewal, no heartbeat
    clock.advance(TTL_MS + 1_500)
    b = ShardLeases(db, "w-b", clock, TTL_MS)
    b.beat()
    assert b.step(take=False).gained == ()
    clock.advance(500)
    done = b.step()
    assert done.gained == (0, 1)
    # Shard 0 since a's lease ran out (2 s ago), shard 1 since b first saw it free (0.5 s).
    assert done.unheld_ms == {0: 2_000, 1: 500}


def test_a_free_shard_above_the_share_waits_for_the_free_grace(db: sa.Engine) -> None:
    """w-a and w-b are alive, one shard each is the share; w-b is not taking (still reading
    the market). w-a takes the other shard only once it has been free ``free_grace_ms``, not
    the shorter ``grace_ms`` that applies to a holder that stopped."""
    clock = SimClock(1_000)
    a, b = ShardLeases(db, "w-a", clock, TTL_MS), ShardLeases(db, "w-b", clock, TTL_MS)
    a.ensure(2)
    b.beat()
    assert a.step(grace_ms=1_000, free_grace_ms=5_000).gained == (0,)
    clock.advance(2_000)
    b.beat()
    assert a.step(grace_ms=1_000, free_grace_ms=5_000).gained == ()
    clock.advance(3_000)
    b.beat()
    assert a.step(grace_ms=1_000, free_grace_ms=5_000).gained == (1,)


def test_without_rebalancing_a_worker_above_its_share_keeps_its_shards(db: sa.Engine) -> None:
    clock = SimClock(1_000)
    a = ShardLeases(db, "w-a", clock, TTL_MS)
    a.ensure(2)
    assert a.step().gained == (0, 1)
    ShardLeases(db, "w-b", clock, TTL_MS).beat()  # a second worker joins, holding nothing
    # (Rebalancing is a liveness round's: with a grace for unheld shards.)
    assert a.step(grace_ms=1_000, rebalance=False, release=False).released == ()
    assert a.step(grace_ms=1_000, release=False).released == (1,)  # its share is one now


def test_the_ops_lease_is_no_shard_a_round_takes(db: sa.Engine) -> None:
    clock = SimClock(1_000)
    a = ShardLeases(db, "w-a", clock, TTL_MS)
    a.ensure(2, ops=True)
    assert sorted(a.table()) == [0, 1]
    assert a.step().gained == (0, 1)
    assert sorted(a.leases) == [0, 1]


def test_a_shard_held_in_between_counts_free_from_when_it_was_freed_again(db: sa.Engine) -> None:
    clock = SimClock(1_000)
    a, b = ShardLeases(db, "w-a", clock, TTL_MS), ShardLeases(db, "w-b", clock, TTL_MS)
    a.ensure(1)
    assert a.step(take=False).gained == ()  # free since 1,000 as w-a sees it
    held = b.acquire(0)
    assert held is not None
    clock.advance(2_000)
    assert a.step(take=False).gained == ()  # held: no longer counted as free
    b.release(held)
    clock.advance(1_000)
    assert a.step(take=False).gained == ()  # free again since 4,000
    clock.advance(500)
    done = a.step()
    assert done.gained == (0,)
    assert done.unheld_ms == {0: 500}

"""Accounts spread over shards by a stable hash, and the plan every worker follows at each
renewal: take up to a fair share, give back above it, never take a live worker's shard."""

from __future__ import annotations

import math
from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rampart.domain.shards import FREE, Holder, Plan, deploy_shards, plan, shard_of


def test_an_account_has_the_same_shard_in_every_process() -> None:
    # Pinned: Python's hash() is salted per process, this must not be.
    assert [shard_of(f"acct-{n}", 16) for n in range(5)] == [
        shard_of(f"acct-{n}", 16) for n in range(5)
    ]
    # Pinned literally: a worker of the next version must find the same accounts in a shard.
    assert shard_of("demo-trend", 16) == 2
    assert [shard_of(f"acct-{n}", 16) for n in range(5)] == [1, 8, 3, 10, 8]
    counts = Counter(shard_of(f"tg-{n}", 16) for n in range(16_000))
    assert len(counts) == 16 and max(counts.values()) < 1.1 * 1_000 < 1.2 * min(counts.values())


@given(
    shards=st.integers(min_value=1, max_value=40),
    workers=st.integers(min_value=1, max_value=6),
    held_by=st.lists(st.integers(min_value=-1, max_value=5), min_size=40, max_size=40),
)
def test_workers_following_the_plan_hold_every_shard_and_none_holds_more_than_its_share(
    shards: int, workers: int, held_by: list[int]
) -> None:
    now = 1_000
    names = [f"w{n}" for n in range(workers)]
    # Any starting table: some shards free, some held by workers (live), some by the dead.
    table = {
        s: Holder(FREE, 0, 0)
        if held_by[s] < 0
        else Holder(names[held_by[s]] if held_by[s] < workers else "gone", 1, now - 1)
        if held_by[s] >= workers
        else Holder(names[held_by[s]], 1, now + 10_000)
        for s in range(shards)
    }
    for _round in range(3):
        for me in names:
            wanted = plan(table, me, now, names)
            for s in wanted.give_back:
                assert table[s].owner == me
                table[s] = Holder(FREE, table[s].token, 0)
            for s in wanted.take:
                assert not table[s].live(now), "a live worker's shard was taken"
                table[s] = Holder(me, table[s].token + 1, now + 10_000)
    share = math.ceil(shards / workers)
    owners = Counter(h.owner for h in table.values())
    assert set(owners) <= set(names), owners  # every shard held, none by the dead
    assert max(owners.values()) <= share


@given(
    shards=st.integers(min_value=1, max_value=32),
    fraction=st.sampled_from([0.0, 0.1, 0.25, 0.5, 1.0]),
    blue=st.integers(min_value=1, max_value=3),
    green=st.integers(min_value=1, max_value=3),
)
def test_in_a_deploy_each_version_holds_exactly_its_shards(
    shards: int, fraction: float, blue: int, green: int
) -> None:
    """A blue-green step: green's workers end holding the moved shards, blue's the rest, each
    within the fair share of its version, however the table started (all on blue)."""
    now = 1_000
    moved = deploy_shards(shards, fraction)
    versions = {f"b{n}": frozenset(range(shards)) - moved for n in range(blue)}
    versions |= {f"g{n}": moved for n in range(green)}
    table = {s: Holder(f"b{s % blue}", 1, now + 10_000) for s in range(shards)}
    for _round in range(4):
        for me, eligible in versions.items():
            peers = [n for n in versions if n[0] == me[0]]
            wanted = plan(table, me, now, peers, eligible)
            for s in wanted.give_back:
                assert table[s].owner == me
                table[s] = Holder(FREE, table[s].token, 0)
            for s in wanted.take:
                assert s in eligible and not table[s].live(now)
                table[s] = Holder(me, table[s].token + 1, now + 10_000)
    for s, holder in table.items():
        assert holder.owner[0] == ("g" if s in moved else "b"), (s, holder)
    owners = Counter(h.owner for h in table.values())
    assert max(owners[n] for n in versions if n[0] == "g") <= math.ceil(len(moved) / green)
    assert len(moved) == math.ceil(fraction * shards - 1e-9)


def test_one_shard_holds_every_account_and_none_is_refused() -> None:
    assert {shard_of(f"acct-{n}", 1) for n in range(20)} == {0}
    for shards in (0, -3):
        with pytest.raises(ValueError, match=r"^there is at least one shard$"):
            shard_of("acct-1", shards)


def test_a_lease_ends_at_its_expiry() -> None:
    held = Holder("w1", 1, 1_000)
    assert held.live(999) and not held.live(1_000) and not held.live(1_001)
    assert not Holder(FREE, 1, 5_000).live(1_000)


def test_the_plan_s_share_and_a_worker_at_its_share_takes_nothing() -> None:
    now = 1_000
    live = now + 10_000
    table = {s: Holder(FREE, 0, 0) for s in range(6)}
    table |= {0: Holder("w1", 1, live), 1: Holder("w1", 1, live), 2: Holder("w2", 1, live)}
    # Two live workers, six shards: three each. w1 takes one free shard, w2 two.
    assert plan(table, "w1", now) == Plan((3,), (), 3)
    assert plan(table, "w2", now) == Plan((3, 4), (), 3)
    # A third worker seen alive: two each, so w1 holds its share and takes nothing.
    assert plan(table, "w1", now, ["w3"]) == Plan((), (), 2)
    assert plan(table, "w3", now, ["w3"]) == Plan((3, 4), (), 2)
    # Six workers: one each, so w1 gives back its highest shard.
    assert plan(table, "w1", now, ["w3", "w4", "w5", "w6"]) == Plan((), (1,), 1)
    # No shard at all, or none eligible: a share of none.
    assert plan({}, "w1", now) == Plan((), (), 0)
    assert plan(table, "w1", now, ["w1"], eligible=()) == Plan((), (0, 1), 0)


def test_a_deploy_moves_a_fraction_between_nothing_and_everything() -> None:
    assert deploy_shards(16, 0.0) == frozenset()
    assert deploy_shards(16, 1.0) == frozenset(range(16))
    assert deploy_shards(16, 0.25) == frozenset(range(4))
    for fraction in (1.5, 2.0, -0.1):
        with pytest.raises(ValueError, match=r"^a deploy moves between 0 and 1 of the shards$"):
            deploy_shards(16, fraction)


def test_above_its_share_a_worker_takes_one_unheld_shard_a_round() -> None:
    """A stopped worker's four shards, their leases run out past the grace: the survivor with
    room takes up to its share, then one more a round, so a peer's next round takes the rest
    instead of one survivor opening three in a queue."""
    now = 10_000
    live, ran_out = now + 6_000, now - 1_000
    table = {s: Holder("w1" if s < 3 else "w2", 1, live) for s in range(6)}
    table |= {s: Holder("frozen", 1, ran_out) for s in range(6, 10)}
    # Two live workers, ten shards: five each. w1 holds three: two to its share, one above.
    assert plan(table, "w1", now, grace_ms=500) == Plan((6, 7, 8), (), 5)
    # w2 took two of them and is at its share: one above it this round, not both left.
    table |= {s: Holder("w2", 1, live) for s in (6, 7)}
    assert plan(table, "w2", now, grace_ms=500) == Plan((8,), (), 5)
    # Not yet past the grace: a worker at its share waits (its peers have room first).
    assert plan(table, "w2", now, grace_ms=2_000) == Plan((), (), 5)

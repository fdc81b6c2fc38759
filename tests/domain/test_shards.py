"""Accounts spread over shards by a stable hash, and the plan every worker follows at each
renewal: take up to a fair share, give back above it, never take a live worker's shard."""

from __future__ import annotations

import math
from collections import Counter

from hypothesis import given
from hypothesis import strategies as st

from rampart.domain.shards import FREE, Holder, deploy_shards, plan, shard_of


def test_an_account_has_the_same_shard_in_every_process() -> None:
    # Pinned: Python's hash() is salted per process, this must not be.
    assert [shard_of(f"acct-{n}", 16) for n in range(5)] == [
        shard_of(f"acct-{n}", 16) for n in range(5)
    ]
    assert shard_of("demo-trend", 16) == PINNED
    counts = Counter(shard_of(f"tg-{n}", 16) for n in range(16_000))
    assert len(counts) == 16 and max(counts.values()) < 1.1 * 1_000 < 1.2 * min(counts.values())


PINNED = shard_of("demo-trend", 16)


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

"""The shard plan's edges the ``shards`` mutation area found unheld (whole-area run
at b66cf04): a worker above its share gives back its excess, not all its peers have room for,
and a worker at its share takes an unheld shard only once its grace is over (a lease run out
``grace_ms`` ago, a free shard ``free_grace_ms`` after it was first seen free)."""

from __future__ import annotations

from rampart.domain.shards import FREE, Holder, plan

NOW = 10_000_000
LIVE = NOW + 30_000


def _held(owner: str, *shards: int) -> dict[int, Holder]:
    return {s: Holder(owner, s + 1, LIVE) for s in shards}


def test_above_its_share_a_worker_gives_back_its_excess_and_no_more() -> None:
    # 5 shards between w1 and w2: a share of 3. w1 holds 4; w2, with 1, has room for 2.
    table = {**_held("w1", 0, 1, 2, 3), **_held("w2", 4)}
    got = plan(table, "w1", NOW, workers=("w2",), grace_ms=60_000)
    assert (got.take, got.give_back, got.share) == ((), (3,), 3)  # its highest, one only


def test_at_its_share_a_worker_takes_an_unheld_shard_only_once_its_grace_is_over() -> None:
    mine = _held("w1", 0, 1)  # the share of 4 shards between w1 and w2
    peer = {2: Holder("w2", 3, LIVE)}
    ran_out = {3: Holder("w-gone", 4, NOW - 60_000)}  # its lease ended 60 s ago
    assert plan({**mine, **peer, **ran_out}, "w1", NOW, ("w2",), grace_ms=60_000).take == (3,)
    assert plan({**mine, **peer, **ran_out}, "w1", NOW, ("w2",), grace_ms=60_001).take == ()
    free = {**mine, **peer, 3: Holder(FREE, 0, 0)}

    def takes(since: int, free_grace_ms: int | None = 120_000) -> tuple[int, ...]:
        return plan(
            free, "w1", NOW, ("w2",), grace_ms=60_000, free_since={3: since},
            free_grace_ms=free_grace_ms,
        ).take  # fmt: skip

    assert takes(NOW) == ()  # first seen free just now
    assert takes(NOW - 90_000) == ()  # past grace_ms, not yet past the free grace
    assert takes(NOW - 120_000) == (3,)  # exactly the free grace
    assert takes(NOW - 60_000, None) == (3,)  # no free grace of its own: grace_ms

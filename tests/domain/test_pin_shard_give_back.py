"""A worker above its fair share gives nothing back while any shard is
unheld (free, or its lease run out): the unheld ones are its peers' room first, and a shard
given back then would only be one more without a holder. Once every shard is held again, it
gives back what its peers have room for. Pins ``domain/shards.py`` ``plan`` (``or free``)."""

from __future__ import annotations

import pytest

from rampart.domain.shards import FREE, Holder, plan

NOW = 1_000_000
LIVE = NOW + 30_000


@pytest.mark.parametrize("unheld", [Holder(FREE, 0, 0), Holder("w-gone", 4, NOW - 5_000)])
def test_nothing_is_given_back_while_a_shard_is_unheld(unheld: Holder) -> None:
    mine = {s: Holder("w1", s + 1, LIVE) for s in (0, 1, 2)}
    table = {**mine, 3: unheld}
    # Share 2 of 4 between w1 and w2 (w2 holds nothing yet, so it has room for 2).
    before = plan(table, "w1", NOW, workers=("w2",), grace_ms=60_000)
    assert (before.share, before.give_back) == (2, ())
    after = plan({**mine, 3: Holder("w2", 9, LIVE)}, "w1", NOW, workers=("w2",), grace_ms=60_000)
    assert after.give_back == (2,)

"""The one exponential backoff: min(cap, base × 2ⁿ), and full jitter drawn below it; the venue
retries and the supervisor draw exactly the delays their own formulas drew before."""

from __future__ import annotations

import random

from rampart.clock import SimClock
from rampart.runtime.backoff import ceiling_s, full_jitter_s
from rampart.runtime.supervisor import Supervisor
from rampart.venues.retry import Backoff, RetryPolicy


def test_the_ceiling_doubles_from_the_base_up_to_the_cap() -> None:
    assert [ceiling_s(n, 0.5, 30.0) for n in range(8)] == [0.5, 1, 2, 4, 8, 16, 30, 30]
    assert [ceiling_s(n, 0.5, 8.0) for n in range(6)] == [0.5, 1, 2, 4, 8, 8]
    assert ceiling_s(-3, 0.5, 30.0) == 0.5  # no retry yet counts as the first
    # Far past any float power of two: the cap, not an OverflowError.
    assert ceiling_s(10**6, 0.5, 30.0) == 30.0
    assert ceiling_s(3, 0.0, 30.0) == 0.0


def test_full_jitter_draws_once_below_the_ceiling() -> None:
    for n in range(10):
        a, b = random.Random(n), random.Random(n)
        assert full_jitter_s(a, n, 0.5, 30.0) == b.uniform(0.0, min(30.0, 0.5 * 2**n))
        assert a.random() == b.random()  # one draw, no more


def test_venue_backoff_and_supervisor_use_the_same_schedule() -> None:
    policy = RetryPolicy(attempts=10, base_s=0.5, cap_s=30.0)
    venue, rng = Backoff(policy, random.Random(7)), random.Random(7)
    assert [venue.next_delay() for _ in range(9)] == [
        rng.uniform(0.0, min(30.0, 0.5 * 2**n)) for n in range(9)
    ]
    sup = Supervisor(
        SimClock(0),
        initial_backoff_s=1.0,
        max_backoff_s=60.0,
        stale_after_s=30.0,
        rng=random.Random(3),
    )
    rng = random.Random(3)
    # The first failure waits up to the initial backoff; each further one doubles it.
    assert [sup.backoff_s(f) for f in range(1, 10)] == [
        rng.uniform(0.0, min(60.0, 1.0 * 2 ** (f - 1))) for f in range(1, 10)
    ]

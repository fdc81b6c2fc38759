"""The shared request budget spent a block at a time: a round trip to the shared
count per block, not per request, and still never past a ceiling, for any number of workers
and any mix of priorities."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from rampart.venues.budget_chunks import ChunkedLedger
from rampart.venues.request_budget import MemoryLedger

KEY = "binance|127.0.0.1|REQUEST_WEIGHT|60000"
W0, W1 = 0, 60_000


class Counted(MemoryLedger):
    """The shared count, with its round trips counted."""

    def __init__(self) -> None:
        super().__init__()
        self.trips = 0

    def spend(self, key: str, start: int, cost: float, ceiling: float) -> float | None:
        self.trips += 1
        return super().spend(key, start, cost, ceiling)

    def raise_to(self, key: str, start: int, used: float) -> float:
        self.trips += 1
        return super().raise_to(key, start, used)


def test_requests_are_spent_from_a_block_with_a_round_trip_per_block() -> None:
    shared = Counted()
    ledger = ChunkedLedger(shared, share=0.1)
    totals = [ledger.spend(KEY, W0, 1.0, 100.0) for _ in range(25)]
    assert shared.trips == 3  # blocks of 10 (a tenth of the ceiling)
    assert totals == [float(n) for n in range(1, 26)]  # what is used, not what is held
    assert shared.used(KEY, W0) == 30.0  # the third block held whole in the shared count
    # A request larger than a block claims exactly its cost on top of the rest held.
    assert ledger.spend(KEY, W0, 12.0, 100.0) == 37.0
    assert shared.used(KEY, W0) == 42.0 and shared.trips == 4


def test_a_new_window_drops_the_old_block_and_a_give_back_goes_straight_through() -> None:
    shared = Counted()
    ledger = ChunkedLedger(shared, share=0.1)
    ledger.spend(KEY, W0, 1.0, 100.0)
    assert ledger.spend(KEY, W1, 1.0, 100.0) == 1.0
    assert shared.used(KEY, W1) == 10.0 and shared.trips == 2
    assert ledger.spend(KEY, W1, -1.0, 1e18) == 9.0  # given back in the shared count
    assert shared.trips == 3


def test_a_block_let_past_a_reserve_is_not_spent_by_a_request_held_to_it() -> None:
    shared = Counted()
    ledger = ChunkedLedger(shared, share=0.1)
    shared.spend(KEY, W0, 75.0, 100.0)  # other workers
    assert ledger.spend(KEY, W0, 1.0, 100.0) == 76.0  # a protective order: a block to 85
    # A read may go to 80 only: the block reaches past it, and the shared count (85) has
    # no room for the read itself either.
    assert ledger.spend(KEY, W0, 1.0, 80.0) is None
    assert shared.used(KEY, W0) == 85.0
    # An entry may go to 90: the count with the whole block in it (85) is within that.
    assert ledger.spend(KEY, W0, 1.0, 90.0) == 77.0
    assert shared.used(KEY, W0) == 85.0


def test_more_use_reported_than_counted_forfeits_the_block() -> None:
    shared = Counted()
    ledger = ChunkedLedger(shared, share=0.1)
    ledger.spend(KEY, W0, 1.0, 100.0)  # holds 9 more
    assert ledger.raise_to(KEY, W0, 8.0) == 10.0  # under the count: the block stays
    assert ledger.spend(KEY, W0, 1.0, 100.0) == 2.0 and shared.used(KEY, W0) == 10.0
    assert ledger.raise_to(KEY, W0, 50.0) == 50.0  # another program on the address
    assert ledger.spend(KEY, W0, 1.0, 100.0) == 51.0  # a new block, claimed above it
    assert shared.used(KEY, W0) == 60.0


@settings(max_examples=200, deadline=None)
@given(
    workers=st.integers(min_value=1, max_value=4),
    share=st.sampled_from([0.01, 0.05, 0.2]),
    steps=st.lists(
        st.tuples(
            st.integers(min_value=0, max_value=3),
            st.sampled_from([1.0, 2.0, 5.0, 20.0]),
            st.sampled_from([80.0, 90.0, 100.0]),
        ),
        max_size=120,
    ),
)
def test_no_mix_of_workers_and_priorities_passes_a_ceiling(
    workers: int, share: float, steps: list[tuple[int, float, float]]
) -> None:
    shared = MemoryLedger()
    ledgers = [ChunkedLedger(shared, share) for _ in range(workers)]
    granted = 0.0
    for who, cost, ceiling in steps:
        total = ledgers[who % workers].spend(KEY, W0, cost, ceiling)
        if total is None:
            continue
        granted += cost
        # The shared count holds all that was used and never passes the highest ceiling;
        # alone on the address, a worker never lets a request past its own ceiling.
        assert granted - 1e-9 <= shared.used(KEY, W0) <= 100.0 + 1e-9
        if workers == 1:
            assert granted <= ceiling + 1e-9

"""The shared request budget with a store that stops answering: every call
has a deadline and none holds the event loop past it.

Found in a fleet run: one worker's event loop waited 27 minutes on one synchronous PostgreSQL
read (``RequestBudget.observe`` → ``SqlLedger.used_many``) on a connection whose peer had gone
silent; its shards were neither traded nor taken. Here the shared store's calls block until the
test lets them go (as a silent peer's would): the budget answers from the process's own count,
and asks the store nothing more until the hung call has returned."""

from __future__ import annotations

import threading
from collections.abc import Sequence

from rampart.clock import SimClock
from rampart.venues.budget_lanes import Lane
from rampart.venues.budget_ledgers import MemoryLedger, SharedLedger
from rampart.venues.request_budget import RequestBudget, Window

MINUTE = 60_000
START = 1_800_000_000_000 // MINUTE * MINUTE
HANG_GUARD_S = 60.0
"""Only so that a broken test fails instead of hanging."""


class SilentStore(MemoryLedger):
    """A shared store whose peer has gone silent: each call waits until ``answer`` is set."""

    def __init__(self) -> None:
        super().__init__()
        self.answer = threading.Event()
        self.calls = 0

    def _wait(self) -> None:
        self.calls += 1
        assert self.answer.wait(HANG_GUARD_S)

    def used_many(self, keys: Sequence[str], start: int) -> list[float]:
        self._wait()
        return super().used_many(keys, start)

    def spend(self, key: str, start: int, cost: float, ceiling: float) -> float | None:
        self._wait()
        return super().spend(key, start, cost, ceiling)


def test_a_silent_store_leaves_the_budget_answering_in_process() -> None:
    store = SilentStore()
    ledger = SharedLedger(store, deadline_s=0.05)
    budget = RequestBudget(
        "binance", "a", SimClock(START), ledger=ledger,
        windows=[Window("REQUEST_WEIGHT", MINUTE, 100)],
    )  # fmt: skip
    # An answer's used-weight header above the count known: the budget reads the shared rows.
    budget.observe(200, {"x-mbx-used-weight-1m": "40"})
    assert store.calls == 1 and ledger.hung == 1 and ledger.failing
    assert budget.used_ratio() >= 0.4  # the exchange's count, taken in process
    # While that read hangs, nothing more is asked of the store: answered in process at once.
    assert budget.try_spend(1, Lane.PROTECT) is None
    budget.observe(200, {"x-mbx-used-weight-1m": "60"})
    assert store.calls == 1
    # The store answers again: the next call is its.
    store.answer.set()
    hung = ledger._inflight
    assert hung is not None
    hung.result(HANG_GUARD_S)
    assert budget.try_spend(1, Lane.PROTECT) is None
    assert store.calls == 2 and not ledger.failing

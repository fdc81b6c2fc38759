"""A second process spending one window of a request budget kept in a database: started by
tests/budget/test_budget.py, it says ``ready``, waits for ``go`` and prints how much it took."""

from __future__ import annotations

import sys

from rampart.clock import SimClock
from rampart.store.db import open_database
from rampart.store.request_budget import SqlLedger
from rampart.venues.request_budget import Priority, RequestBudget, Window


def main(url: str, start_ms: int, limit: float, weight: float) -> None:
    ledger = SqlLedger(open_database(url, migrate=False))
    budget = RequestBudget(
        "binance",
        "10.0.0.1",
        SimClock(start_ms),
        ledger=ledger,
        windows=[Window("REQUEST_WEIGHT", 60_000, limit)],
    )
    print("ready", flush=True)
    sys.stdin.readline()
    taken = 0
    while budget.try_spend(weight, Priority.PROTECT) is None:
        taken += 1
    print(taken, flush=True)
    ledger.engine.dispose()


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4]))

"""A second process spending one window of a request budget kept in a database, in every lane:
started by tests/budget/test_budget.py, it says ``ready``, waits for ``go`` and prints how
many requests it was let send."""

from __future__ import annotations

import sys

from rampart.clock import SimClock
from rampart.store.db import open_database
from rampart.store.request_budget import SqlLedger
from rampart.venues.budget_lanes import Lane
from rampart.venues.request_budget import RequestBudget, Window


def spend_every_lane(b: RequestBudget, weight: float = 1) -> int:
    """Requests of every lane in turn until none has room: how many went."""
    n, full = 0, set()
    while len(full) < len(Lane):
        for lane in Lane:
            if lane not in full:
                if b.try_spend(weight, lane) is None:
                    n += 1
                else:
                    full.add(lane)
    return n


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
    print(spend_every_lane(budget, weight), flush=True)
    ledger.engine.dispose()


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4]))

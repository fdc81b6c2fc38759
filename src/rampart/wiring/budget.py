"""The request budget the settings ask for: one per exchange and egress address in a process,
shared by the venue's clients and the feed; counted in the store when workers share it.

Its windows run on the wall clock, as the exchange's do (the engine's clock follows candles).
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Any

from rampart.clock import Clock, WallClock
from rampart.config import Settings

if TYPE_CHECKING:
    from rampart.venues.request_budget import RequestBudget


def shares_database(settings: Settings) -> bool:
    mode = settings.venue.budget.shared
    return mode == "database" or (mode == "auto" and settings.store.url.startswith("postgresql"))


LEDGER_IDLE_MS = 5_000
LEDGER_LOCK_MS = 1_000
"""A spend is one statement: waiting past a second for the budget's row means a peer froze
holding it; the spend is counted in this process meanwhile, and the server ends the frozen
peer's session after five."""


def _ledger_db(url: str) -> Any:
    from rampart.store.db import bound_waits, open_database

    db = open_database(url, migrate=False)
    bound_waits(db, LEDGER_IDLE_MS, LEDGER_LOCK_MS)
    return db


def request_budget(settings: Settings, clock: Clock | None = None) -> RequestBudget | None:
    """This process's budget for the settings' exchange and address (None when off)."""
    from rampart.venues.budget_chunks import ChunkedLedger
    from rampart.venues.request_budget import (
        BudgetPolicy,
        Ledger,
        RequestBudget,
        SharedLedger,
        shared_budget,
    )

    v, b = settings.venue, settings.venue.budget
    if not b.enabled or v.kind != "ccxt":
        return None
    database = shares_database(settings)
    endpoint = v.api_url or ("testnet" if v.sandbox or settings.mode == "testnet" else "")
    key = (v.exchange, b.address, endpoint, settings.store.url if database else "")

    def make() -> RequestBudget:
        ledger: Ledger | None = None
        if database:
            from rampart.store.request_budget import SqlLedger

            # Opened at the first request: the service opens (and migrates) the store after
            # it has built the venue. Spent a block at a time: a round trip per request would
            # cost a takeover seconds.
            shared = SharedLedger(SqlLedger(partial(_ledger_db, settings.store.url)))
            ledger = ChunkedLedger(shared)
        policy = BudgetPolicy(
            market=b.lanes.market,
            protect=b.lanes.protect,
            reconcile=b.lanes.reconcile,
            entry=b.lanes.entry,
            entry_wait_s=b.entry_wait_s,
            read_wait_s=b.read_wait_s,
        )
        return RequestBudget(
            v.exchange, b.address, clock or WallClock(), ledger=ledger, policy=policy
        )

    return shared_budget(key, make)

"""What the store writer buffers between two flushes (:class:`Batch`) and what it counts."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import sqlalchemy as sa

from rampart.domain.orders import Order
from rampart.domain.positions import Position
from rampart.store import models as m
from rampart.store import rows
from rampart.store.audit import Item
from rampart.store.market_closes import ClosesKey


@dataclass(slots=True)
class WriterStats:
    rows: Counter[str] = field(default_factory=Counter)
    """Rows written per table (an upsert or delete counts as one row)."""
    flushes: int = 0
    failed_flushes: int = 0
    flush_seconds: float = 0.0
    """Total time spent inside successful flushes."""
    last_flush_rows: int = 0

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())


@dataclass(slots=True)
class Batch:
    """Rows buffered between two flushes; the newest state per key wins."""

    accounts: dict[str, rows.Row] = field(default_factory=dict)
    states: dict[str, tuple[str, int]] = field(default_factory=dict)
    paused: dict[str, tuple[bool, int]] = field(default_factory=dict)
    orders: dict[str, Order] = field(default_factory=dict)
    transitions: list[rows.Transition] = field(default_factory=list)
    """Every order transition, in order, as a tuple in ``order_transitions``' column order
    (:data:`rows.TRANSITION_KEYS`): the most frequent row, so no dict is built for it."""
    positions: dict[tuple[str, str], tuple[Position | None, int]] = field(default_factory=dict)
    logs: dict[sa.Table, list[rows.Row]] = field(
        default_factory=lambda: {
            m.fills: [],
            m.trades: [],
            m.equity_snapshots: [],
            m.intents: [],
            m.rejections: [],
            m.account_events: [],
            m.reconciliation_repairs: [],
        }
    )
    closes: dict[ClosesKey, float] = field(default_factory=dict)
    """The live feed's last close per (symbol, hour): see :mod:`rampart.store.market_closes`."""
    facade: list[Item] = field(default_factory=list)
    """The operator facade's audit entries, numbered when they are written (see
    :meth:`StoreWriter.facade_entry`)."""
    number: int = 0
    """Which detach took it (1, 2, …): what :meth:`StoreWriter.durable` counts."""

    @property
    def size(self) -> int:
        return (
            len(self.accounts)
            + len(self.states)
            + len(self.paused)
            + len(self.orders)
            + len(self.transitions)
            + len(self.positions)
            + sum(map(len, self.logs.values()))  # asked on every candle: no genexpr
            + len(self.facade)
            + len(self.closes)
        )

    def absorb_newer(self, newer: Batch) -> None:
        """Put ``newer`` on top of this (older) batch: its rows win, logs keep their order."""
        self.accounts.update(newer.accounts)
        self.states.update(newer.states)
        self.paused.update(newer.paused)
        self.orders.update(newer.orders)
        self.positions.update(newer.positions)
        self.closes.update(newer.closes)
        for account_id in newer.accounts:
            # A fresh account row already carries the latest state and pause flag.
            if account_id not in newer.states:
                self.states.pop(account_id, None)
            if account_id not in newer.paused:
                self.paused.pop(account_id, None)
        self.transitions.extend(newer.transitions)
        for table, batch in newer.logs.items():
            self.logs[table].extend(batch)
        self.facade.extend(newer.facade)

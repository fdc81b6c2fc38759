"""Reconciliation: what one pass shares among its steps, and how it records what it did.

A :class:`ReconcileReport` is the outcome of one pass. A :class:`RunContext` holds the facts
every step of that pass reads (the engine, the venue, the pass's time and how far back it
looks) and is the one place a step records a repair or a remaining difference, so every
repair is logged, published as a :class:`ReconciliationRepaired` event and counted the same
way whichever step made it.

Differences are listed in the order of the sequential pass whether or not the accounts were
reconciled side by side (:mod:`.overlap`): those found while reserving ids, then the venue's
own, then each account's in the pass's order of accounts, each account's in the order found.
A step wraps each venue read in :meth:`RunContext.reading`, which lets the other accounts of
an overlapped pass book meanwhile (a no-op in a sequential pass).
"""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any, cast

import structlog

from rampart.domain.events import ReconciliationRepaired
from rampart.domain.orders import OrderStatus
from rampart.trading.ports import ReconcilableVenue, VenueReport

if TYPE_CHECKING:
    from rampart.trading.engine import Engine

log = structlog.get_logger("rampart.reconcile")

FILL_MARGIN_MS = 60_000
"""Fills are fetched from this long before the order was created (clock differences)."""

RESERVING, VENUE, ACCOUNTS = 0, 1, 2
"""The parts of a pass, in the order their differences are listed."""


@dataclass
class ReconcileReport:
    ts: int
    accounts: list[str]
    reason: str = "interval"
    repairs: Counter[str] = field(default_factory=Counter)
    """Repairs applied, by kind."""
    differences: list[str] = field(default_factory=list)
    """What still differs from the venue after the repairs, in words (empty: books match)."""
    compared: bool = True
    """The verdict was reached (open orders, balances and trade ids compared with the venue's).
    False for a pass run with ``verdict=False`` (a shard's take, before it trades): it repairs
    and protects but does not judge, so it never says the books match."""

    @property
    def matches(self) -> bool:
        return self.compared and not self.differences

    @property
    def total_repairs(self) -> int:
        return sum(self.repairs.values())

    def to_dict(self) -> dict[str, Any]:
        return {
            "ts": self.ts,
            "reason": self.reason,
            "accounts": len(self.accounts),
            "repairs": dict(self.repairs),
            "matches": self.matches,
            "compared": self.compared,
            "differences": list(self.differences),
        }


START = "start"
TAKEOVER = "takeover"
"""A start on a shard another worker held until its lease ran out: that worker may
still have an order on its way, signed before its lease ended, which the exchange takes until
its receive window passes. New client ids jump past any it could have used."""
STARTS = frozenset({START, TAKEOVER})


class RunContext:
    """One reconciliation pass: the facts its steps share, and its record of repairs."""

    def __init__(
        self,
        engine: Engine,
        report: ReconcileReport,
        *,
        lookback_ms: int,
        recent_lookback_ms: int,
        tolerance: Decimal,
    ) -> None:
        self.engine = engine
        # Only made for an engine whose capabilities include reconciliation.
        self.venue = cast(ReconcilableVenue, engine.venue)
        self.report = report
        self.now = engine.clock.now_ms()
        self.adopt_any_age = report.reason in STARTS
        """At start the books may have lost orders of any age (sent after the last saved
        state); a running engine can only have just lost one."""
        self.takeover = report.reason == TAKEOVER
        self.lookback_ms = lookback_ms if self.adopt_any_age else recent_lookback_ms
        self.recent_lookback_ms = recent_lookback_ms
        """How far back the verdict compares the venue's trades with the books' by id."""
        self.verdict = report.compared
        """Whether the pass ends with the verdict (:func:`~.reconciler._compare`)."""
        self.set_aside: set[str] = set()
        """Venue fills this pass found not to fit the books (already a difference)."""
        self.traded: dict[str, dict[str, int]] = {}
        """Accounts whose recent orders on the venue (read by the adoption step) show a fill of
        Rampart's: only theirs (and those whose books hold a filled order) are compared trade by
        trade (a trade history read is heavy, 20 of Binance's weight, and a quiet account has
        nothing to compare). Per symbol, the newest such order's time (0 when the venue does not
        say): one made inside the comparison's window means that window holds trades."""
        self.tolerance = tolerance
        self.part = RESERVING
        """Which part of the pass the accounts are in (set by the reconciler)."""
        self._place = {a: i for i, a in enumerate(report.accounts)}
        self._noted: list[tuple[int, int, int, str]] = []
        self.differing: dict[str, str] = {}
        """Accounts whose books still differ from the venue after this pass's repairs."""
        self.reads: Callable[[], AbstractAsyncContextManager[None]] | None = None
        """Set for an overlapped pass (:mod:`.overlap`): the current account's read window."""

    def expect_trades(self, account_id: str, symbol: str, made: int) -> None:
        """An order of ``account_id``'s on ``symbol``, made at ``made`` (0: unknown), filled."""
        symbols = self.traded.setdefault(account_id, {})
        symbols[symbol] = max(made, symbols.get(symbol, 0))

    # -- recording ----------------------------------------------------------------------------

    def repair(
        self, account_id: str, kind: str, detail: str, client_id: str | None, symbol: str | None
    ) -> None:
        self.report.repairs[kind] += 1
        log.info(
            "reconciliation_repair",
            account_id=account_id,
            kind=kind,
            order=client_id,
            symbol=symbol,
            detail=detail,
        )
        self.engine.bus.publish(
            ReconciliationRepaired(self.now, account_id, kind, client_id, symbol, detail)
        )

    def tell(self, account_id: str, kind: str, detail: str) -> None:
        """Publish what the pass found that is no repair (a cash flow the investor made):
        told like a repair, not counted with them."""
        log.info("reconciliation_found", account_id=account_id, kind=kind, detail=detail)
        self.engine.bus.publish(
            ReconciliationRepaired(self.now, account_id, kind, None, None, detail)
        )

    def differ(self, account_id: str, text: str) -> None:
        self.differing.setdefault(account_id, text)
        self._note(self.part, self._place.get(account_id, -1), f"{account_id}: {text}")

    def venue_differs(self, text: str) -> None:
        """A difference of the venue's, not of one account (listed once)."""
        if not any(noted[3] == text for noted in self._noted):
            self._note(VENUE, -1, text)

    def _note(self, part: int, place: int, text: str) -> None:
        self._noted.append((part, place, len(self._noted), text))

    def finish(self) -> None:
        """Put the differences in the report, in the sequential pass's order."""
        self.report.differences.extend(text for *_, text in sorted(self._noted))

    def reading(self) -> AbstractAsyncContextManager[None]:
        """Around a read of the venue that books nothing: in an overlapped pass the other
        accounts book meanwhile, and what the venue reports during it is held for this
        account (:mod:`.overlap`)."""
        reads = self.reads
        return reads() if reads is not None else contextlib.nullcontext()

    def deliver(self, report: VenueReport) -> None:
        """Queue a report exactly as the venue would have delivered it."""
        self.engine.executor.deliver(report)

    def classify_queue(self) -> None:
        """Name the repairs among the reports the venue queued while catching up."""
        resolved: set[str] = set()
        for rep in self.engine.executor.pending():
            acct = self.engine.accounts.get(rep.account_id)
            order = acct.orders.get(rep.client_id) if acct else None
            if acct is None or order is None:
                continue
            if rep.fill is not None:
                fill = rep.fill
                self.repair(
                    acct.account_id,
                    "fill_booked",
                    f"{fill.side.value} {fill.qty} at {fill.price} (fee {fill.fee}) on "
                    f"{order.role.value} order {order.client_id} happened on the venue and "
                    "was not yet booked.",
                    order.client_id,
                    order.symbol,
                )
            elif order.status is OrderStatus.UNKNOWN and rep.status is not OrderStatus.UNKNOWN:
                if order.client_id in resolved:
                    continue
                resolved.add(order.client_id)
                self.repair(
                    acct.account_id,
                    "order_unknown_resolved",
                    f"Order {order.client_id} was unknown; the venue says it is "
                    f"{rep.status.value}.",
                    order.client_id,
                    order.symbol,
                )
            elif rep.status.terminal and rep.client_id not in acct.pending_cancel:
                self.repair(
                    acct.account_id,
                    "order_closed",
                    f"Order {order.client_id} is {rep.status.value} on the venue"
                    + (" (canceled there by hand)." if rep.status is OrderStatus.CANCELED else "."),
                    order.client_id,
                    order.symbol,
                )

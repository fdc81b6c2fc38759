"""Reconciliation's trade-by-trade comparison: an empty read of the window while an order of
ours made in it filled is a difference, never "the books match". The trades here carry their
own time, minutes before the pass's."""

from __future__ import annotations

import asyncio
from decimal import Decimal

from rampart.trading.ports import ReconcilableVenue
from rampart.trading.reconcile.context import ReconcileReport
from rampart.venues.ccxt_venue import CcxtVenue
from rampart.venues.paper import PaperVenue
from rampart.venues.solana.venue import SolanaVenue

from .reconcile_rig import START, SYMBOL, Rig, rig

D = Decimal
MINUTE = 60_000


LATER = START + 30 * MINUTE
"""The entry's time: the pass's window (its last 15 minutes) starts after 0."""


async def _entered(no_ts: bool = False) -> Rig:
    """An entry made and filled at :data:`LATER`, booked with its pair; the pass runs three
    minutes later."""
    r = await rig()
    r.at(LATER)
    await r.protected(fee="0")
    r.at(LATER + 3 * MINUTE)
    r.venue.no_ts = no_ts
    return r


def test_an_empty_trade_history_while_an_order_of_ours_filled_is_a_difference() -> None:
    async def go() -> ReconcileReport:
        r = await _entered()
        r.venue.page = 0  # every history read lists nothing (pruned, or a read that missed)
        return await r.reconcile()

    report = asyncio.run(go())
    assert not report.matches
    assert report.differences == [
        f"a1: the venue lists no trade on {SYMBOL} since 1970-01-01 00:20:00 UTC while an order "
        "of ours made since then filled there: the trades could not be compared by id"
    ]


def test_the_books_own_filled_order_expects_trades_when_the_venue_does_not_date_its_orders() -> (
    None
):
    async def go() -> ReconcileReport:
        r = await _entered(no_ts=True)  # the venue's order lists say nothing of when
        r.venue.page = 0
        return await r.reconcile()

    report = asyncio.run(go())
    assert not report.matches
    assert len(report.differences) == 1 and "lists no trade" in report.differences[0]


def test_the_same_pass_with_the_history_listed_matches() -> None:
    async def go() -> ReconcileReport:
        return await (await _entered()).reconcile()

    assert asyncio.run(go()).matches


def test_an_empty_window_after_an_order_filled_before_it_is_no_difference() -> None:
    """Its trades are older than the window: nothing was to be listed in it."""

    async def go() -> ReconcileReport:
        r = await _entered()
        r.at(LATER + 20 * MINUTE)
        r.venue.page = 0
        return await r.reconcile()

    assert asyncio.run(go()).matches


def test_a_venue_whose_fills_come_from_its_own_journal_is_not_judged_by_an_empty_list() -> None:
    """Solana's swaps and the paper venue list only the fills they have not reported yet: an
    empty list there is the usual answer, not a read that missed trades."""

    async def go() -> ReconcileReport:
        r = await _entered()
        r.venue.page = 0
        r.venue.keeps_trade_history = False
        return await r.reconcile()

    report = asyncio.run(go())
    assert not [d for d in report.differences if "lists no trade" in d], report.differences


def test_every_reconcilable_venue_declares_whether_it_lists_the_exchanges_trades() -> None:
    """A declared member of the port, not a probe: a venue that leaves it out is no
    reconcilable venue, and each one here says what its history is."""

    class Undeclared:  # every method of the port, but nothing said of its history
        name = "undeclared"

    for member in dir(ReconcilableVenue):
        if callable(getattr(ReconcilableVenue, member)) and not member.startswith("_"):
            setattr(Undeclared, member, lambda *a, **k: None)
    Undeclared.capabilities = None  # type: ignore[attr-defined]
    assert not isinstance(Undeclared(), ReconcilableVenue)
    Undeclared.keeps_trade_history = False  # type: ignore[attr-defined]
    assert isinstance(Undeclared(), ReconcilableVenue)
    assert CcxtVenue.keeps_trade_history is True  # myTrades: the exchange's own history
    assert PaperVenue.keeps_trade_history is False  # its own matching's fills
    assert SolanaVenue.keeps_trade_history is False  # its own swap journal

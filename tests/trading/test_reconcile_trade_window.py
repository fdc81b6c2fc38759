"""Reconciliation's trade-by-trade comparison: the window it reads reaches back to the orders
of ours that filled, and an empty read while trades are expected is a difference, never "the
books match". The trades here carry their own time, well before the pass's."""

from __future__ import annotations

import asyncio
from decimal import Decimal

from rampart.trading.reconcile.context import ReconcileReport

from .reconcile_rig import START, SYMBOL, Rig, rig

D = Decimal
MINUTE = 60_000


def test_an_empty_trade_history_while_an_order_of_ours_filled_is_a_difference() -> None:
    async def go() -> ReconcileReport:
        r = await rig()
        await r.protected(fee="0")  # the entry filled and is booked
        r.at(START + 3 * MINUTE)
        r.venue.page = 0  # every history read lists nothing (pruned, or a window that missed)
        return await r.reconcile()

    report = asyncio.run(go())
    assert not report.matches
    assert report.differences == [
        f"a1: the venue lists no trade on {SYMBOL} since 1970-01-01 00:00:00 UTC while an order "
        "of ours filled there: the trades could not be compared by id"
    ]


def test_the_same_pass_with_the_history_listed_matches() -> None:
    async def go() -> ReconcileReport:
        r = await rig()
        await r.protected(fee="0")
        r.at(START + 3 * MINUTE)
        return await r.reconcile()

    assert asyncio.run(go()).matches


def test_a_trade_older_than_the_recent_window_is_compared_back_to_its_order() -> None:
    """A start twenty minutes after the entry filled unseen: its trade, made long before the
    pass, is still compared by id (a window of the last 15 minutes would read none)."""

    async def go() -> tuple[Rig, str, ReconcileReport]:
        r = await rig()
        entry = await r.enter()
        r.venue.deaf.add(entry)
        r.at(START + 1_000)
        r.x.fill(entry, D(8), D(100), D(0))  # the trade carries this time, not the pass's
        r.at(START + 20 * MINUTE)
        return r, entry, await r.reconcile("start")

    r, entry, report = asyncio.run(go())
    (trade,) = [t for t in r.x.trades if t.client_id == entry]
    assert trade.ts == START + 1_000
    assert f"a1: trade {trade.fill_id} (8 {SYMBOL}) is on the venue, not booked" in (
        report.differences
    )
    assert not report.matches

"""A venue's restored state never ahead of the restored books (issue 54).

A checkpoint holds the books and the venue's own state (the orders it follows, what it has
reported of each). Taken between a venue's report and its booking (the report still queued:
a shard handed back, a worker killed), it saved a venue that had "seen" trades the books never
booked; restored, the venue's polls found nothing new, and reconciliation took the coins
missing for a sale outside Rampart. So after a restore each order the venue follows is
followed again as the books hold it, and the trades they lack are reported again.
"""

from __future__ import annotations

from collections.abc import Iterable

from rampart.trading.account import AccountRuntime
from rampart.trading.ports import ReconcilableVenue, Venue


def follow_as_booked(venue: Venue, accounts: Iterable[AccountRuntime]) -> None:
    """Tell ``venue`` what the books hold of every order it follows (nothing on a venue that
    hands no orders over)."""
    if not isinstance(venue, ReconcilableVenue):
        return
    for acct in accounts:
        for client_id in venue.following(acct.account_id):
            order = acct.orders.get(client_id)
            if order is not None:
                venue.follow(order, acct.booked_fills(client_id))


__all__ = ["follow_as_booked"]

"""Re-sizing a resting stop-loss/take-profit pair in place (the paper venue's amend).

A bracket whose entry fills in parts grows a few times (see :mod:`rampart.trading.protection`).
Canceling the pair and placing a new one costs two canceled orders, two new ones and a moment
with nothing resting; an amend changes the quantity both legs have left, and nothing else:
same ids, same prices, same place in the book. Both legs sell the same coins (the book locks
the larger of the two), so a pair may grow only by coins the account holds free.

An agent that moves its stop or its target has the same pair amended to the new
prices: the stop never leaves the book, so the position is never without one while it moves.
A sell's lock is its coins, not its price, so a new price locks nothing more.
"""

from __future__ import annotations

from decimal import Decimal

from rampart.domain.errors import VenueError
from rampart.domain.money import ZERO
from rampart.venues.book import BookOrder, SubAccount
from rampart.venues.matching import MatchingCore


def amend_oco(
    core: MatchingCore,
    account_id: str,
    stop_id: str,
    take_id: str,
    remaining: Decimal,
    *,
    stop_price: Decimal | None = None,
    take_price: Decimal | None = None,
) -> None:
    """Leave ``remaining`` to sell on both legs, at new prices when given; raises a VenueError
    and changes nothing when the pair is not open, the quantity is off the lot, the coins are
    not free, or a price is off the tick or leaves the target at or under the stop."""
    acct = core.accounts.get(account_id)
    legs = _legs(acct, stop_id, take_id)
    if acct is None or legs is None:
        raise VenueError(
            f"The pair {stop_id}/{take_id} of account {account_id!r} is not open on this venue.",
            code="unknown_order",
        )
    stop, take = legs
    inst = core.instrument(stop.symbol)
    if remaining <= ZERO or not inst.qty_on_lot(remaining) or remaining < inst.min_qty:
        raise VenueError(
            f"Quantity {remaining} must be at least {inst.min_qty} and a multiple of the lot "
            f"size {inst.lot_size} for {inst.symbol}.",
            code="bad_lot",
        )
    held = max(stop.remaining, take.remaining)  # what the pair locks now
    if remaining - held > acct.free(stop.held_asset):
        raise VenueError(
            f"The pair cannot grow to {remaining} {stop.held_asset}: only "
            f"{acct.free(stop.held_asset)} more is free.",
            code="insufficient_funds",
        )
    new_stop = stop.stop_price if stop_price is None else stop_price
    new_take = take.price if take_price is None else take_price
    for price in (stop_price, take_price):
        if price is not None and (price <= ZERO or not inst.price_on_tick(price)):
            raise VenueError(
                f"Price {price} must be above 0 and on the {inst.symbol} tick of {inst.tick_size}.",
                code="bad_tick",
            )
    if new_stop is not None and new_take is not None and new_take <= new_stop:
        raise VenueError(
            f"The take-profit {new_take} must be above the stop-loss {new_stop}.", code="bad_oco"
        )
    for leg in legs:
        leg.qty = leg.filled_qty + remaining
    stop.stop_price, take.price = new_stop, new_take
    core.screen.forget(stop.symbol)  # the book's cached view of resting orders changed


def _legs(
    acct: SubAccount | None, stop_id: str, take_id: str
) -> tuple[BookOrder, BookOrder] | None:
    if acct is None:
        return None
    stop, take = acct.open.get(stop_id), acct.open.get(take_id)
    if stop is None or take is None or stop.oco_group is None:
        return None
    if stop.oco_group != take.oco_group or stop.triggered:
        return None  # not one pair, or a stop already selling at market
    return stop, take

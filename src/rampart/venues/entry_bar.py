"""The bar an entry was bought on, for the matching core.

On candles a market order fills at the open of the bar after the one it was decided on (see
:mod:`rampart.venues.matching`), so the rest of that bar happened after the entry: the stop
sent for it must be able to fill there, or a stop-out on the entry's own bar is skipped. The
core notes, per symbol, the accounts whose market buy opened a position at the bar's open;
the first protective sell such an account then sends on the symbol (its OCO pair, or a lone
stop) is matched against that bar at once. The note is used up by that order and forgotten
when the symbol's next bar comes, so an order decided after the close (a move, a limit exit)
never sees the bar it was decided on.
"""

from __future__ import annotations

from collections.abc import Mapping

from rampart.domain.money import ZERO
from rampart.domain.orders import Side
from rampart.venues.book import BookOrder, SubAccount
from rampart.venues.validation import STOP_TYPES


def opened(order: BookOrder, accounts: Mapping[str, SubAccount]) -> bool:
    """Whether ``order``, a market order that had not filled before this bar, has just opened a
    position: a buy that filled, with no sell of its account (of ``accounts``) resting on the
    symbol (an addition's position is protected already). The account's own open orders are
    read, not the symbol's book: with every account entering on one bar, reading the book
    for each fill read every account's orders a fill (a thousand accounts: 500,000 reads)."""
    if order.side is not Side.BUY or order.filled_qty == ZERO:
        return False
    symbol, own = order.symbol, accounts[order.account_id].open
    return not any(o.symbol == symbol and o.side is Side.SELL and o.is_open for o in own.values())


class EntryBars:
    """Per symbol, the accounts whose entry filled at the current bar's open and whose
    protective order has not been sent yet."""

    __slots__ = ("waiting",)

    def __init__(self) -> None:
        self.waiting: dict[str, set[str]] = {}

    def next_bar(self, symbol: str) -> None:
        """A new bar of ``symbol``: the entries of the bar before are protected by now. The
        core calls it only while any note is kept (:attr:`waiting` read first, on every bar)."""
        self.waiting.pop(symbol, None)

    def bought(self, symbol: str, accounts: set[str]) -> None:
        self.waiting[symbol] = accounts

    def protects(self, order: BookOrder) -> bool:
        """Whether ``order`` is the first protective sell of an account whose entry filled at
        the current bar's open (then it is matched against that bar). The answer is used up."""
        if not self.waiting or order.side is not Side.SELL or order.type not in STOP_TYPES:
            return False
        waiting = self.waiting.get(order.symbol)
        if waiting is None or order.account_id not in waiting:
            return False
        waiting.discard(order.account_id)
        return True

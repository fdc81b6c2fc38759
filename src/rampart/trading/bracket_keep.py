"""Which brackets an account keeps once an entry has ended (its stop and target are needed only
while they have something to protect); used by the executor as each order ends or fills."""

from __future__ import annotations

from rampart.domain.orders import Order, OrderStatus
from rampart.trading.account import AccountRuntime


def bracket_joined(acct: AccountRuntime, entry_id: str) -> None:
    """An entry's fill went into a position another entry opened (a second entry, a reversed
    guess): that position is protected by its own entry's bracket, so this entry's is needed
    only while the entry may still fill and open a position of its own. Once it has ended,
    nothing reads its bracket again; kept, every such entry left one behind for good (27 of 32
    brackets in a 12-hour soak, saved in every checkpoint)."""
    if entry_id not in acct.orders:
        acct.brackets.pop(entry_id, None)


def bracket_in_use(acct: AccountRuntime, entry: Order) -> bool:
    """Whether an entry that ended leaves its bracket something to protect: the fill that
    ended it is booked next, or the position it bought is still open."""
    if entry.status is OrderStatus.FILLED:
        return True
    pos = acct.ledger.positions.get(entry.symbol)
    return pos is not None and pos.entry_client_id == entry.client_id

"""JSON-able snapshots of the matching core, so a restart continues bit for bit.

Everything that decides a future report is saved: balances, open orders with their trigger
state and fill counts, the bounded history of finished orders (idempotent resubmits), the
sequence counter and the last bar of every symbol (market prices and report timestamps).
Fees, slippage and participation are configuration and come from the constructor.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from rampart.domain.errors import VenueError
from rampart.venues.book import SubAccount
from rampart.venues.matching import MatchingCore
from rampart.venues.pricing import Bar

SNAPSHOT_VERSION = 1
_BAR_PRICES = ("open", "high", "low", "close", "volume")


def _bar_to_dict(bar: Bar) -> dict[str, Any]:
    out: dict[str, Any] = {"ts": bar.ts, "close_ts": bar.close_ts}
    out.update({k: str(getattr(bar, k)) for k in _BAR_PRICES})
    return out


def _bar_from_dict(symbol: str, data: dict[str, Any]) -> Bar:
    prices = [Decimal(data[k]) for k in _BAR_PRICES]
    return Bar(symbol, int(data["ts"]), int(data["close_ts"]), *prices)


def dump(core: MatchingCore) -> dict[str, Any]:
    return {
        "version": SNAPSHOT_VERSION,
        "seq": core.seq,
        "last": {symbol: _bar_to_dict(bar) for symbol, bar in core.last.items()},
        "accounts": {a: acct.to_dict() for a, acct in core.accounts.items()},
    }


def _bad(detail: str) -> VenueError:
    return VenueError(f"The paper venue snapshot cannot be loaded: {detail}.", code="bad_snapshot")


def load(core: MatchingCore, data: dict[str, Any]) -> None:
    """Replace the core's state with the snapshot's. A bad snapshot raises and changes nothing.

    Accounts opened on this core but absent from the snapshot (added to the configuration
    since the snapshot was taken) are kept, as long as they have no orders yet.
    """
    if not isinstance(data, dict) or data.get("version") != SNAPSHOT_VERSION:
        raise _bad(f"it is not a version {SNAPSHOT_VERSION} paper venue snapshot")
    try:
        seq = int(data["seq"])
        last = {s: _bar_from_dict(s, b) for s, b in data["last"].items()}
        accounts = {a: SubAccount.from_dict(a, d) for a, d in data["accounts"].items()}
    except (KeyError, TypeError, ValueError, ArithmeticError, AttributeError) as exc:
        raise _bad(f"a field is missing or malformed ({type(exc).__name__})") from exc
    open_orders = sorted(
        (o for acct in accounts.values() for o in acct.open.values()), key=lambda o: o.seq
    )
    for order in open_orders:
        if order.symbol not in core.instruments:
            raise _bad(f"it holds an open {order.symbol} order but that symbol is not configured")
        if order.seq > seq or order.status.terminal:
            raise _bad(f"order {order.client_id} is inconsistent with the venue's sequence")
    for account_id, acct in core.accounts.items():
        if account_id in accounts:
            continue
        if acct.open or acct.done:
            raise _bad(f"account {account_id!r} already has orders that the snapshot does not know")
        accounts[account_id] = acct
    books: dict[str, dict[int, Any]] = {}
    for order in open_orders:
        books.setdefault(order.symbol, {})[order.seq] = order
    core.seq = seq
    core.last = {**core.last, **last}
    core.accounts = accounts
    core.books = books
    core.forget_gates()

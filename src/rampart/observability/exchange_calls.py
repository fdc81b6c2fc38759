"""Which order an exchange call concerns, named around the call so that an error counted
anywhere below it (the ccxt venue reports each HTTP attempt through a hook) is logged with it."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar

CallContext = dict[str, str | None]
"""What an exchange call concerns: ``call`` (the method), ``account_id``, ``order`` (client id)
and ``symbol``, as far as the caller knows them."""
_CALL: ContextVar[CallContext | None] = ContextVar("rampart_exchange_call", default=None)

CANCEL_ENDPOINT, NOT_FOUND_KIND = "cancel_order", "not_found"
"""An exchange's "no such open order" answer to a cancel: the order finished already (an OCO
leg closed with its partner, a fill that raced the cancel). The adapter looks the order's final
state up; it is an answer, not an exchange failure."""
LOOKUP_ENDPOINT = "lookup_order"
"""The ccxt venue's look-up of an order by its client id (an order whose answer was lost):
"no such order" there says the order never reached the exchange, an answer too. Asked again
every poll until the order's fate is known, each counted as a failure held the exchange's
error alerts open long after a dropped request."""
NOT_FOUND_ANSWERS = {CANCEL_ENDPOINT: "cancel_not_open", LOOKUP_ENDPOINT: "lookup_not_found"}
"""The endpoints whose "not found" is an answer, with the event logged (at info) for it."""


@contextlib.contextmanager
def exchange_call(context: CallContext) -> Iterator[None]:
    """Name the order an exchange call concerns while it runs, so an error counted anywhere
    below it (the ccxt venue reports each HTTP attempt through a hook) is logged with it."""
    token = _CALL.set(context)
    try:
        yield
    finally:
        _CALL.reset(token)


def current_call() -> CallContext:
    """What the exchange call running now concerns (empty outside :func:`exchange_call`)."""
    return _CALL.get() or {}

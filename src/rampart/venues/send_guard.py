"""The last check before a request that changes something leaves: at the moment it is signed.

A worker checks its shard lease before it starts to send an order
(:class:`~rampart.fleet.fenced_venue.FencedVenue`), but between that check and the request
there can be seconds: the reads an order needs first, the request budget, a busy CPU, a
SIGSTOP. A request signed after the lease ran out would reach the exchange with a fresh
timestamp while the shard's next owner trades the same accounts (a client id sent
twice). So the check is made again inside the client, when the request is signed: an order
signed while the lease held carries a timestamp from within it, and the exchange refuses it
once its receive window has passed; one signed later is never made.

The check travels with the call (a context variable), so the venue layer knows nothing of
leases: whoever sends sets it around the call (:func:`guarded`); no guard, no check.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from typing import Any

_GUARD: ContextVar[Callable[[], None] | None] = ContextVar("rampart_send_guard", default=None)
_WRAPPED = "_rampart_send_guarded"
READS = frozenset({"GET", "HEAD"})


@contextlib.contextmanager
def guarded(check: Callable[[], None]) -> Iterator[None]:
    """Every state-changing request signed inside first runs ``check`` (which raises to
    refuse it)."""
    token = _GUARD.set(check)
    try:
        yield
    finally:
        _GUARD.reset(token)


def check_send(method: str) -> None:
    """Run the call's guard for a request of HTTP ``method`` (reads pass unchecked)."""
    check = _GUARD.get()
    if check is not None and method.upper() not in READS:
        check()


def guard_signing(client: Any) -> None:
    """Make ``client`` run the call's guard when it signs a request (once; on the instance)."""
    if getattr(client, _WRAPPED, False):
        return
    sign = client.sign

    def checked_sign(
        path: Any, api: Any = "public", method: str = "GET", params: Any = None, *rest: Any
    ) -> Any:
        check_send(str(method))
        return sign(path, api, method, {} if params is None else params, *rest)

    client.sign = checked_sign
    setattr(client, _WRAPPED, True)


__all__ = ["check_send", "guard_signing", "guarded"]

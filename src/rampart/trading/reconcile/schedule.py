"""When to reconcile: at start, after a reconnect, and on an interval of Clock time."""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

NETWORK_KINDS = frozenset({"unreachable", "timeout", "disconnected", "rate_limited"})
"""Exchange-call failures that mean the connection was lost (or refused for a while)."""


Reconciliation = Literal["exchange loop", "reconcile loop"]

RECONCILE_EVERY_S = 300.0
"""The interval between scheduled reconciliations (besides at start and after a reconnect)."""


def reconciled_by(own_books: bool, live_feed: bool) -> Reconciliation | None:
    """Who reconciles a venue; None when nothing needs to.

    ``own_books``: the venue keeps books of its own to compare with (an exchange's, or a
    chain's token balances; the paper venue is ours). ``live_feed``: the feed reads a venue's
    own market (its candles, its DEX quotes). Both are the venue kind registry's to say
    (``rampart.wiring.venue_kinds``): the engine names no kind.

    The rule is "the venue can be reconciled, so a Reconciler runs", whatever the feed: the
    exchange's own feed is traded by the exchange loop, which reconciles between candles; any
    other feed (synthetic, replay) leaves it to a component of its own on the same schedule.
    """
    if not own_books:
        return None
    return "exchange loop" if live_feed else "reconcile loop"


class ReconcileSchedule:
    """When to reconcile: at start, after a reconnect, and every ``every_s`` of Clock time."""

    def __init__(self, every_s: float) -> None:
        self.every_ms = int(every_s * 1000)
        self.next_ms: int | None = None

    def due(self, now_ms: int, reconnected: bool = False) -> str | None:
        """The reason to reconcile now (``start``, ``reconnect``, ``interval``), or None."""
        if self.next_ms is None:
            reason: str | None = "start"
        elif reconnected:
            reason = "reconnect"
        elif now_ms >= self.next_ms:
            reason = "interval"
        else:
            reason = None
        if reason is not None:
            self.next_ms = now_ms + self.every_ms
        return reason


OnCall = Callable[[str, float, str | None], None]


class ReconnectWatch:
    """An exchange-call hook (``on_call(endpoint, seconds, error_kind)``) that notices a
    reconnect: the first call to succeed after calls failed for connection reasons."""

    def __init__(self, inner: OnCall | None = None) -> None:
        self.inner = inner
        self.down = False
        self.reconnects = 0
        self._pending = False

    def __call__(self, endpoint: str, seconds: float, kind: str | None) -> None:
        if kind in NETWORK_KINDS:
            self.down = True
        elif kind is None and self.down:
            self.down = False
            self.reconnects += 1
            self._pending = True
        if self.inner is not None:
            self.inner(endpoint, seconds, kind)

    def take(self) -> bool:
        """Whether a reconnect happened since the last call (and forget it)."""
        pending, self._pending = self._pending, False
        return pending

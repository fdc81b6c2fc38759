"""Positions with no stop resting on the exchange, as the ``PositionUnprotected`` alerts read
them: ``rampart_position_unprotected{account, symbol, reason}`` is 1 for each position that
Rampart's monitor holds or that nothing protects (``reason``: the venue's refusal code, the
bracket's state, ``none`` when nothing holds it), one series per account and symbol at a time;
it is gone once a stop rests again or the position is closed. Fed by the engine's
:class:`~rampart.domain.events.ProtectionChanged` (``rampart.trading.protection_state``).
"""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client import CollectorRegistry, Gauge

from rampart.domain.events import ProtectionChanged

UNPROTECTED = "rampart_position_unprotected"
BARE = frozenset({"monitor", "unprotected"})
"""The covers under which no stop rests on the exchange for every coin held."""
REASON_CHARS = 20
"""A reason longer than this is cut: the label is a code, the words are in the logs and API."""


class ProtectionMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.gauge = Gauge(
            UNPROTECTED,
            "1 per held position with no stop resting on the exchange for every coin: Rampart's "
            "monitor holds the stop, or nothing does (reason none); labelled with why.",
            ["account", "symbol", "reason"],
            registry=registry,
        )
        self._shown: dict[tuple[str, str], str] = {}
        """(account, symbol) → the reason its series carries now."""

    def changed(self, event: ProtectionChanged) -> None:
        key = (event.account_id, event.symbol)
        reason = (event.reason or "none")[:REASON_CHARS]
        before = self._shown.pop(key, None)
        if before is not None and (event.cover not in BARE or before != reason):
            self.gauge.remove(*key, before)
        if event.cover in BARE:
            self.gauge.labels(*key, reason).set(1)
            self._shown[key] = reason

    def keep_accounts(self, accounts: Iterable[str]) -> None:
        """Forget the series of accounts no longer here (moved to another worker, removed)."""
        kept = set(accounts)
        for key, reason in list(self._shown.items()):
            if key[0] not in kept:
                self.gauge.remove(*key, reason)
                del self._shown[key]


__all__ = ["BARE", "REASON_CHARS", "UNPROTECTED", "ProtectionMetrics"]

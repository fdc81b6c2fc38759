"""A venue's restored state never ahead of the restored books.

A checkpoint holds the books and the venue's own state (the orders it follows, what it has
reported of each). Taken between a venue's report and its booking (the report still queued:
a shard handed back, a worker killed), it saved a venue that had "seen" trades the books never
booked; restored, the venue's polls found nothing new, and reconciliation took the coins
missing for a sale outside Rampart. So after a restore each order the venue follows is
followed again as the books hold it, and the trades they lack are reported again.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol

from rampart.trading.account import AccountRuntime
from rampart.trading.ports import ReconcilableVenue, Venue

if TYPE_CHECKING:
    from rampart.trading.agent_protections import AgentProtections
    from rampart.trading.controls import Controls
    from rampart.trading.investor_holds import InvestorHolds
    from rampart.trading.serving import Subscription


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


class RestoredEngine(Protocol):
    """What a checkpoint saves of the engine and restores into it (the :class:`Engine`'s own
    state, its turns and its venue's hooks included)."""

    candles_seen: int
    last_candle_ts: int
    marks: dict[str, Decimal]
    data_ts: dict[str, int]
    owed: str
    _turns: dict[str, int]

    @property
    def venue(self) -> Venue: ...

    @property
    def accounts(self) -> dict[str, AccountRuntime]: ...

    @property
    def controls(self) -> Controls: ...

    @property
    def holds(self) -> InvestorHolds: ...

    @property
    def protections(self) -> AgentProtections: ...

    @property
    def _subs(self) -> dict[str, list[Subscription]]: ...

    @property
    def _venue_snapshot(self) -> Callable[[], dict[str, Any]] | None: ...

    @property
    def _venue_restore(self) -> Callable[[dict[str, Any]], None] | None: ...

    def _serve(self, symbol: str) -> None: ...


def engine_snapshot(engine: RestoredEngine) -> dict[str, Any]:
    """What :meth:`Engine.snapshot` saves: the books, controls, holds and the venue's state."""
    snap: dict[str, Any] = {
        "candles_seen": engine.candles_seen,
        "last_candle_ts": engine.last_candle_ts,
        "marks": {s: str(p) for s, p in engine.marks.items()},
        "data_ts": dict(engine.data_ts),
        "controls": engine.controls.to_dict(),
        "investor_holds": engine.holds.to_dict(),
        "accounts": {a: acct.to_snapshot() for a, acct in engine.accounts.items()},
    }
    if protected := engine.protections.to_dict():  # trades a protection reads
        snap["agent_protections"] = protected
    if engine._turns:  # a resumed run serves in the same order (one account never turns)
        snap["serving_turns"] = dict(engine._turns)
    if engine._venue_snapshot is not None:
        snap["venue"] = engine._venue_snapshot()
    if engine.owed:  # the next holder's first task (a stop's last pass left it)
        snap["owed"] = engine.owed
    return snap


def load_engine_snapshot(engine: RestoredEngine, snap: dict[str, Any]) -> None:
    """Restore what :func:`engine_snapshot` saved; the accounts must already be added."""
    engine.candles_seen = int(snap["candles_seen"])
    engine.last_candle_ts = int(snap["last_candle_ts"])
    engine.marks = {s: Decimal(p) for s, p in snap["marks"].items()}
    engine.data_ts = {s: int(t) for s, t in snap["data_ts"].items()}
    engine.controls.load_dict(snap["controls"])
    engine.holds.load_dict(snap.get("investor_holds", {}))
    engine.owed = str(snap.get("owed", ""))
    engine.protections.load_dict(snap.get("agent_protections", {}))
    engine._turns = {s: int(t) for s, t in snap.get("serving_turns", {}).items()}
    for symbol in engine._subs:
        engine._serve(symbol)
    for account_id, data in snap["accounts"].items():
        if account_id in engine.accounts:
            engine.accounts[account_id].load_snapshot(data)
    if "venue" in snap and engine._venue_restore is not None:
        engine._venue_restore(snap["venue"])
        follow_as_booked(engine.venue, engine.accounts.values())


__all__ = ["RestoredEngine", "engine_snapshot", "follow_as_booked", "load_engine_snapshot"]

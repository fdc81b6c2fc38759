"""A fresh holder covers the coins it holds before it buys more.

A start, or a shard taken over, builds its engine anew: the positions it restores may have no
stop on the exchange (the last holder died between a fill and its pair, a pair was canceled
by hand, the first pass could not place one). Until each coin an account holds is covered
(a stop resting on the exchange, a market sell closing it, or the position monitor holding
its stop), no new entry of that account goes out: the buy waits, and the bare positions are
given their pair first, at the intent itself (the position monitor acts only on positions it
holds, so nothing else would place a pair for a position nothing protects).

The account is asked once: from the first entry that finds every coin covered on, it trades
as usual (:attr:`~rampart.trading.execution.Executor.cover_first` lets it go). A venue that
rests no stop (a DEX, ``monitor`` bracket mode) has the monitor hold every position's stop
all along: nothing waits there.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

import structlog

from rampart.domain.intents import Intent, IntentAction
from rampart.risk.codes import RejectCode
from rampart.trading.protection_state import Cover, read

if TYPE_CHECKING:
    from rampart.trading.account import AccountRuntime
    from rampart.trading.execution import Executor
    from rampart.trading.ports import Venue, VenueCapabilities

log = structlog.get_logger("rampart.engine")

_BUYS = (IntentAction.OPEN, IntentAction.ADD)


class CoveringEngine(Protocol):
    """What the check reads on the engine (the :class:`~rampart.trading.engine.Engine`
    asking): its venue, what the venue can rest, and the executor placing the pairs."""

    @property
    def venue(self) -> Venue: ...

    @property
    def capabilities(self) -> VenueCapabilities: ...

    @property
    def executor(self) -> Executor: ...


def bare(engine: CoveringEngine, acct: AccountRuntime, now: int) -> list[str]:
    """The account's symbols whose coins nothing protects: no stop rests on the exchange
    for them, no market sell closes them, and the monitor does not hold them."""
    instrument = engine.venue.instrument
    return [
        symbol
        for symbol, pos in acct.ledger.positions.items()
        if read(acct, pos, instrument(symbol).floor_qty, now).cover is Cover.UNPROTECTED
    ]


async def refusal(
    engine: CoveringEngine, acct: AccountRuntime, intent: Intent, now: int
) -> tuple[RejectCode, str] | None:
    """Why a buy of an account just started or taken over waits (its bare positions are
    given their pair first), or None: every coin it holds is covered, and from then on the
    account is not asked again."""
    executor = engine.executor
    if intent.action not in _BUYS:
        return None
    if not engine.capabilities.native_brackets:
        executor.cover_first.discard(acct.account_id)
        return None
    uncovered = bare(engine, acct, now)
    for symbol in uncovered:
        await executor.ensure_protection(acct, symbol)
    if uncovered:
        uncovered = bare(engine, acct, now)
    if not uncovered:
        executor.cover_first.discard(acct.account_id)
        return None
    held = ", ".join(f"{acct.ledger.positions[s].qty} {s}" for s in uncovered)
    log.warning("entry_waits_for_cover", account_id=acct.account_id, bare=uncovered)
    return (
        RejectCode.COVER_FIRST,
        f"The buy of {intent.symbol} waits: {held} held since this start has no stop on the "
        "exchange and no monitor holding it yet. New entries go out once every coin the "
        "account holds is covered.",
    )


__all__ = ["bare", "refusal"]

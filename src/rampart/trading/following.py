"""Following the orders under way between candles.

An exchange fills a market entry in many trades over seconds; a partly filled order goes on
trading. Asked only before each candle, a worker on one-minute candles booked the first trade,
sized the stop to it, and left the rest of the coins out of the books (and from under the stop)
until the next candle, or minutes on a worker whose candles were late. :func:`follow_orders`
asks the venue about those orders alone and applies what it reports as a candle does: each
fill booked once, the bracket grown with the position (:mod:`rampart.trading.protection`), and
the caller holds the same lock a candle does, so the books and the venue's tracker move
together and a checkpoint never falls between them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rampart.trading.ports import FollowingVenue
from rampart.trading.protection_state import observe

if TYPE_CHECKING:
    from rampart.trading.engine import Engine


async def follow_orders(engine: Engine, now_ms: int | None = None) -> bool:
    """Ask the engine's venue about its orders under way and book what it reports; False when
    the venue has none (or follows none between candles: the paper venue, Solana's swaps).
    ``now_ms``: the ops clock's time (the engine's stands at the last candle between candles):
    a pair smaller than its position grows once its coins above it waited
    :data:`~rampart.trading.protection.GROW_AFTER_MS` of it."""
    venue = engine.venue
    if not isinstance(venue, FollowingVenue):
        return False
    asked = await venue.follow_working()
    executor = engine.executor
    if executor.has_work():
        # A turn of its own at the last candle's business time: the bracket's placements "at
        # one instant" (its guard against a venue that drops each pair at once) count from
        # here, or an entry grown in four parts between two candles was left to the monitor.
        for acct in engine.accounts.values():
            acct.bracket_book.clear_tries()
        executor.protection.follow_now = now_ms
        try:
            await executor.drain()
        finally:
            executor.protection.follow_now = None
        # What the turn changed in each position's protection, told at the ops clock's time.
        now = engine.clock.now_ms() if now_ms is None else now_ms
        for acct in engine.accounts.values():
            observe(acct, executor.protection.sellable, now, engine.bus.publish)
    return asked


__all__ = ["follow_orders"]

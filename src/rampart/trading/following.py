"""Following the orders under way between candles.

An exchange fills a market entry in many trades over seconds; a partly filled order goes on
trading. Asked only before each candle, a worker on one-minute candles booked the first trade,
sized the stop to it, and left the rest of the coins out of the books (and from under the stop)
until the next candle, or minutes on a worker whose candles were late. :func:`follow_orders`
asks the venue about those orders alone and applies what it reports as a candle does: each
fill booked once, the bracket grown with the position (:mod:`rampart.trading.protection`), and
the caller holds the same lock a candle does, so the books and the venue's tracker move
together and a checkpoint never falls between them.

A pair left smaller than its position by an entry still buying (:attr:`BracketState.GROWING`)
is looked at again in every turn, whoever booked the coins above it: on candles as frequent as
the turns (one-second candles), each candle's poll books the entry's latest trade and the turn
after it finds nothing new to ask the exchange about. Looked at only when a turn applied news,
such a pair grew at the entry's re-size steps alone, and the coins bought after the last step
sat on the exchange under no stop until the entry ended (12-16 s in a chaos run).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rampart.trading.bracket import BracketState
from rampart.trading.ports import FollowingVenue
from rampart.trading.protection_state import observe

if TYPE_CHECKING:
    from rampart.trading.account import AccountRuntime
    from rampart.trading.engine import Engine

_GROWING = BracketState.GROWING


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
    growing = [] if now_ms is None else _growing(engine)
    if executor.has_work() or growing:
        # A turn of its own at the last candle's business time: the bracket's placements "at
        # one instant" (its guard against a venue that drops each pair at once) count from
        # here, or an entry grown in four parts between two candles was left to the monitor.
        for acct in engine.accounts.values():
            acct.bracket_book.clear_tries()
        executor.protection.follow_now = now_ms
        try:
            for acct, symbol in growing:
                executor.protect_at_drain(acct, symbol)  # after the news, once per position
            await executor.drain()
        finally:
            executor.protection.follow_now = None
        # What the turn changed in each position's protection, told at the ops clock's time.
        now = engine.clock.now_ms() if now_ms is None else now_ms
        for acct in engine.accounts.values():
            observe(acct, executor.protection.sellable, now, engine.bus.publish)
    return asked


def _growing(engine: Engine) -> list[tuple[AccountRuntime, str]]:
    """The positions whose pair an entry still buying has left smaller than them."""
    found: list[tuple[AccountRuntime, str]] = []
    for acct in engine.accounts.values():
        book = acct.bracket_book
        for symbol in book.guarded:  # GROWING holds the monitor: most accounts have none
            if book.state(symbol) is _GROWING:
                found.append((acct, symbol))
    return found


__all__ = ["follow_orders"]

"""A refused bracket, as the engine keeps it.

- A retry spends the turn it was due: if the venue takes the pair and drops it at once, the
  pair is not sent again at that instant, only on the next candle's turn (the back-off keeps
  a venue that misbehaves from being asked three times a candle).
- The position the monitor guards meanwhile is in the account's checkpoint by its symbol.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal

from rampart.domain.orders import Order

from .helpers import SYMBOL, ScriptedAgent, build, candle, feed, long_intent
from .test_guard import RefusingPairs

D = Decimal


class DroppingPairs(RefusingPairs):
    """Refuses the next ``refuse`` pairs; every pair after them it takes and drops at once."""

    async def submit_oco(self, stop_loss: Order, take_profit: Order) -> None:
        await super().submit_oco(stop_loss, take_profit)
        await self.cancel(stop_loss.account_id, stop_loss.client_id)  # and its partner


def test_a_due_retry_whose_pair_is_dropped_waits_for_the_next_candle() -> None:
    async def scenario() -> tuple[list[int], bool]:
        agent = ScriptedAgent(lambda i, view: [long_intent(view, "0.98", "1.04")] if i == 0 else [])
        engine, venue, clock, _bus = await build(agent, venue_class=DroppingPairs)
        assert isinstance(venue, DroppingPairs)
        venue.refuse = 1
        asked: list[int] = []
        for i in range(3):
            await feed(engine, clock, [candle(i, 100, 101, 99, 100)])
            asked.append(venue.pairs_asked)
        return asked, SYMBOL in engine.accounts["a1"].guarded

    asked, guarded = asyncio.run(scenario())
    # Candle 0: the entry fills, its pair is refused. Candles 1 and 2: one try each, taken
    # and dropped; the monitor holds the stop all along.
    assert asked == [1, 2, 3]
    assert guarded


def test_a_refused_brackets_position_is_checkpointed_as_guarded() -> None:
    async def scenario() -> list[str]:
        agent = ScriptedAgent(lambda i, view: [long_intent(view, "0.98", "1.04")] if i == 0 else [])
        engine, venue, clock, _bus = await build(agent, venue_class=RefusingPairs)
        assert isinstance(venue, RefusingPairs)
        venue.refuse = 1
        await feed(engine, clock, [candle(0, 100, 101, 99, 100)])
        book = engine.accounts["a1"].bracket_book
        assert venue.pairs_asked == 1 and book.refusal(SYMBOL) is not None
        return list(engine.accounts["a1"].to_snapshot()["guarded"])

    assert asyncio.run(scenario()) == [SYMBOL]

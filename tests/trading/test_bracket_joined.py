"""An entry whose fills go into a position another entry opened leaves no bracket behind.

The position keeps its first entry's id and is protected by that entry's bracket; a second
entry's bracket is read only while the entry may still open a position of its own. Kept after
the entry ended, one bracket stayed per such entry for the life of the process and in every
checkpoint (27 of 32 brackets of a 12-hour soak belonged to no order and no position).
"""

from __future__ import annotations

import asyncio
from decimal import Decimal

from rampart.domain.orders import Order, OrderRole, OrderStatus, OrderType, Side
from rampart.trading.account import Bracket
from rampart.trading.engine import Engine

from .held import HeldVenue, held
from .helpers import SYMBOL

D = Decimal
FIRST = Bracket(D(98), D(105))
"""The bracket :func:`~tests.trading.held.held` gives its entry."""


async def _second_entry(engine: Engine, venue: HeldVenue, n: int, qty: str) -> str:
    acct = engine.accounts["a1"]
    client_id = acct.next_client_id(OrderRole.ENTRY)
    acct.brackets[client_id] = Bracket(D(90) + n, D(110) + n)
    order = Order(
        client_id=client_id,
        account_id="a1",
        symbol=SYMBOL,
        side=Side.BUY,
        type=OrderType.MARKET,
        qty=D(qty),
        role=OrderRole.ENTRY,
    )
    await engine.executor.submit(acct, order)
    await engine.executor.drain()
    return client_id


def test_entries_filling_into_anothers_position_leave_only_that_positions_bracket() -> None:
    async def scenario() -> tuple[Engine, str, list[str]]:
        engine, venue = await held("10")
        (first,) = venue.entries()
        seconds = []
        for n in range(5):
            second = await _second_entry(engine, venue, n, "2")
            venue.fill(second, D(1))  # in parts: the bracket stays while it may still fill
            await engine.executor.drain()
            assert second in engine.accounts["a1"].brackets
            if n % 2:
                venue.fill(second, D(1))  # the rest: it ends filled
            else:
                venue.finish(second, OrderStatus.CANCELED)  # ends part-filled
            await engine.executor.drain()
            seconds.append(second)
        return engine, first, seconds

    engine, first, seconds = asyncio.run(scenario())
    acct = engine.accounts["a1"]
    pos = acct.ledger.positions[SYMBOL]
    assert (pos.entry_client_id, pos.qty) == (first, D(10 + 1 + 2 + 1 + 2 + 1))
    assert acct.brackets == {first: FIRST}  # the position's own, still needed
    assert not set(seconds) & set(acct.brackets)


def test_a_second_entry_still_working_when_the_position_closes_keeps_its_bracket() -> None:
    """The position it bought into closes: the entry's next fill opens a position of its own,
    protected by its own bracket."""

    async def scenario() -> tuple[Engine, str]:
        engine, venue = await held("20")
        second = await _second_entry(engine, venue, 0, "4")
        venue.fill(second, D(2))
        await engine.executor.drain()
        acct = engine.accounts["a1"]
        await engine.executor.exit_position(acct, SYMBOL, "the agent closes")  # sold at once
        assert SYMBOL not in acct.ledger.positions and second in acct.pending_cancel
        venue.fill(second, D(2))  # its cancel lost the race
        await engine.executor.drain()
        return engine, second

    engine, second = asyncio.run(scenario())
    acct = engine.accounts["a1"]
    pos = acct.ledger.positions[SYMBOL]
    assert (pos.entry_client_id, pos.stop_loss, pos.take_profit) == (second, D(90), D(110))
    assert acct.brackets == {second: Bracket(D(90), D(110))}

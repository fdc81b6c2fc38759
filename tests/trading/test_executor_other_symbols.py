"""What one position's exit or stop does is for that position alone: another symbol's bracket,
entry and exit are left as they are, and do not stand in for this position's protection.

The other symbol's orders are known locally (:func:`~tests.trading.held.elsewhere`); the venue
(:class:`~tests.trading.held.HeldVenue`) records every cancel asked of it.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal

from rampart.domain.orders import OrderRole
from rampart.trading.engine import Engine

from .held import HeldVenue, elsewhere, held
from .helpers import SYMBOL

D = Decimal


def test_an_exit_leaves_another_symbols_stop_and_take_profit_working() -> None:
    async def scenario() -> tuple[Engine, HeldVenue, list[str]]:
        venue = HeldVenue()
        engine, _ = await held("10", venue)
        acct = engine.accounts["a1"]
        elsewhere(acct, OrderRole.STOP_LOSS)
        elsewhere(acct, OrderRole.TAKE_PROFIT)
        mine = venue.working(OrderRole.STOP_LOSS) + venue.working(OrderRole.TAKE_PROFIT)
        await engine.executor.exit_position(acct, SYMBOL, "the agent closes")
        return engine, venue, mine

    engine, venue, mine = asyncio.run(scenario())
    acct = engine.accounts["a1"]
    assert SYMBOL not in acct.ledger.positions
    assert set(mine) <= set(venue.cancels)  # this position's own pair was lifted
    assert "eth-stop_loss" not in venue.cancels and "eth-take_profit" not in venue.cancels
    others = {o.client_id for o in acct.open_orders("ETH/USDT")}
    assert others == {"eth-stop_loss", "eth-take_profit"}


def test_a_stop_that_sells_leaves_another_symbols_entry_buying() -> None:
    async def scenario() -> tuple[Engine, HeldVenue, str]:
        venue = HeldVenue()
        engine, _ = await held("10", venue)
        acct = engine.accounts["a1"]
        elsewhere(acct, OrderRole.ENTRY)
        (entry,) = venue.entries()
        (stop,) = venue.working(OrderRole.STOP_LOSS)
        venue.price = D(98)
        venue.fill(stop, D(4))
        await engine.executor.drain()
        return engine, venue, entry

    engine, venue, entry = asyncio.run(scenario())
    acct = engine.accounts["a1"]
    assert acct.ledger.positions[SYMBOL].qty == D(6)
    assert entry in venue.cancels  # this position's entry stops buying
    assert "eth-entry" not in venue.cancels and "eth-entry" not in acct.pending_cancel
    assert [o.client_id for o in acct.open_orders(roles=(OrderRole.ENTRY,))] == ["eth-entry"]


def test_a_refused_exit_is_watched_even_while_another_symbols_exit_works() -> None:
    async def scenario() -> tuple[Engine, HeldVenue]:
        venue = HeldVenue()
        engine, _ = await held("10", venue)
        acct = engine.accounts["a1"]
        elsewhere(acct, OrderRole.EXIT)  # selling another position at market meanwhile
        venue.refuse_exits = True
        venue.quiet_cancels = True  # the lifted legs' ends come later, by polling
        await engine.executor.exit_position(acct, SYMBOL, "the agent closes")
        return engine, venue

    engine, venue = asyncio.run(scenario())
    acct = engine.accounts["a1"]
    pos = acct.ledger.positions[SYMBOL]
    assert pos.qty == D(10)
    # Neither a pair (its lifted legs may still hold the coins) nor an exit protects it: the
    # monitor does, whatever works on the other symbol.
    assert not list(acct.open_orders(SYMBOL))
    assert SYMBOL in acct.guarded
    assert engine.executor.is_protected(acct, pos)

"""A stop refused for lack of funds (Binance -2010) is not left to the monitor alone: the
account's free coins are read again at once and the pair re-sized to them, so the coins the
exchange can sell rest under a stop and the monitor holds only the rest, naming the refusal;
the re-sized pair waits out the refusal's back-off instead of being canceled on every candle.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal

from rampart.domain.errors import VenueError
from rampart.domain.fills import Balance
from rampart.domain.orders import Order, OrderRole
from rampart.trading.bracket import BracketState
from rampart.trading.engine import Engine
from rampart.trading.protection_state import Cover, Protection, read

from .held import HeldVenue, held
from .helpers import SYMBOL

D = Decimal
SAID = "Account has insufficient balance for requested action."


class ShortOfCoins(HeldVenue):
    """Holds ``free`` coins free: a pair for more is refused as Binance does (-2010)."""

    def __init__(self, free: Decimal) -> None:
        super().__init__()
        self.free = free
        self.balance_reads = 0

    async def submit_oco(self, stop_loss: Order, take_profit: Order) -> None:
        if stop_loss.qty > self.free:
            self.pairs.append((stop_loss.qty, take_profit.qty))
            raise VenueError(f"binance refused the order: {SAID}", code="insufficient_funds")
        await super().submit_oco(stop_loss, take_profit)

    async def fetch_balances(self, account_id: str) -> dict[str, Balance]:
        self.balance_reads += 1
        return {"BTC": Balance("BTC", self.free, D(0))}


def _seen(engine: Engine) -> Protection:
    acct = engine.accounts["a1"]
    floor = engine.venue.instrument(SYMBOL).floor_qty
    return read(acct, acct.ledger.positions[SYMBOL], floor, engine.clock.now_ms())


def _stops(engine: Engine) -> list[Decimal]:
    acct = engine.accounts["a1"]
    return [o.remaining for o in acct.working(SYMBOL, (OrderRole.STOP_LOSS,))]


def test_a_pair_refused_for_funds_is_resized_to_the_free_coins_at_once() -> None:
    venue = ShortOfCoins(D(6))
    engine, _ = asyncio.run(held("10", venue))
    assert venue.pairs == [(D(10), D(10)), (D(6), D(6))]
    assert venue.balance_reads == 1
    assert _stops(engine) == [D(6)]
    acct = engine.accounts["a1"]
    assert acct.bracket_book.state(SYMBOL) is BracketState.PARTIAL
    assert SYMBOL in acct.guarded  # the monitor holds the 4 coins above the stop
    seen = _seen(engine)
    assert seen.cover is Cover.MONITOR and seen.reason == "insufficient_funds"
    assert seen.why.startswith("the stop on the exchange covers 6 of 10; the exchange refused")
    assert SAID.rstrip(".") in seen.why and seen.resting_stop == D(98)


def test_the_resized_pair_waits_out_the_refusal_instead_of_being_canceled() -> None:
    async def scenario() -> tuple[HeldVenue, Engine]:
        venue = ShortOfCoins(D(6))
        engine, _ = await held("10", venue)
        acct = engine.accounts["a1"]
        await engine.executor.ensure_protection(acct, SYMBOL)
        await engine.executor.ensure_protection(acct, SYMBOL)
        return venue, engine

    venue, engine = asyncio.run(scenario())
    assert venue.cancels == [] and len(venue.pairs) == 2 and _stops(engine) == [D(6)]


def test_no_free_coins_leaves_the_monitor_alone_with_the_refusal() -> None:
    venue = ShortOfCoins(D(0))
    engine, _ = asyncio.run(held("10", venue))
    assert venue.pairs == [(D(10), D(10))] and _stops(engine) == []
    seen = _seen(engine)
    assert seen.cover is Cover.MONITOR and seen.reason == "insufficient_funds"

"""One drain protects every position its reports changed, even when an account before them
in the queue was removed meanwhile (an operator removes a flat account while the venue is
taking another account's bracket: the API and the engine share the event loop).

Three accounts on one venue (:class:`~tests.trading.slow_venue.SlowVenue`: fills when the
test says); in one batch of reports a0's entry buys the rest, a1's last order ends (a1 is flat,
so an operator may remove it), and a2's entry fills. a1 goes while a0's new pair is sent; a2's
position still gets its pair in that same drain.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from decimal import Decimal

from rampart.clock import SimClock
from rampart.domain.accounts import AccountSpec
from rampart.domain.orders import Order, OrderRole, OrderStatus
from rampart.risk.profiles import get_profile
from rampart.trading.bus import EventBus
from rampart.trading.engine import Engine

from .helpers import INSTRUMENT, SYMBOL, ScriptedAgent, candle, long_intent
from .slow_venue import SlowVenue

D = Decimal
PROTECTIVE = (OrderRole.STOP_LOSS, OrderRole.TAKE_PROFIT)


class PairHook(SlowVenue):
    """Runs ``during_pair`` (once) while it takes a pair for account a0."""

    def __init__(self) -> None:
        super().__init__(INSTRUMENT, D(100))
        self.during_pair: Callable[[], object] | None = None

    async def submit_oco(self, stop_loss: Order, take_profit: Order) -> None:
        hook = self.during_pair
        if hook is not None and stop_loss.account_id == "a0":
            self.during_pair = None
            hook()
        await super().submit_oco(stop_loss, take_profit)

    def entry_of(self, account_id: str) -> str:
        (entry,) = [c for c in self.entries() if self.open[c].account_id == account_id]
        return entry

    def working(self, account_id: str, role: OrderRole) -> str:
        (found,) = [
            c for c, o in self.open.items() if o.account_id == account_id and o.role is role
        ]
        return found


async def _three_accounts() -> tuple[Engine, PairHook]:
    venue = PairHook()
    agent = ScriptedAgent(lambda i, view: [long_intent(view, "0.98", "1.05")] if i == 0 else [])
    engine = Engine(
        venue=venue,
        clock=SimClock(0),
        bus=EventBus(),
        make_agent=lambda name, params: agent,
        profile_for=get_profile,
        taker_fee=D(0),
    )
    for account_id in ("a0", "a1", "a2"):
        spec = AccountSpec(account_id, "scripted", "moderate", D(10_000), (SYMBOL,))
        await engine.add_account(spec)
    await engine.on_candle(candle(0, 100, 100, 100, 100))  # an entry for 20 each
    return engine, venue


def test_a_drain_protects_the_positions_after_an_account_removed_meanwhile() -> None:
    async def scenario() -> tuple[Engine, PairHook, bool]:
        engine, venue = await _three_accounts()
        a2_entry = venue.entry_of("a2")
        venue.fill(venue.entry_of("a0"), D(10))
        venue.fill(venue.entry_of("a1"), D(20))
        await engine.executor.drain()  # a0 and a1 get their pairs
        venue.price = D(98)
        venue.fill(venue.working("a1", OrderRole.STOP_LOSS), D(20))  # a1 is closed
        await engine.executor.drain()
        take = venue.working("a1", OrderRole.TAKE_PROFIT)  # its end is on its way
        # One batch: a0's entry buys its last 10 (its pair grows once, to all 20), a1's
        # take-profit ends, a2's entry fills 10.
        venue.fill(venue.entry_of("a0"), D(10))
        venue.finish(take, OrderStatus.CANCELED)
        venue.fill(a2_entry, D(10))
        venue.during_pair = lambda: engine.remove_account("a1")
        await engine.executor.drain()
        return engine, venue, engine.executor.has_work()

    engine, venue, work = asyncio.run(scenario())
    assert "a1" not in engine.accounts
    for account_id, qty in (("a0", D(20)), ("a2", D(10))):
        acct = engine.accounts[account_id]
        assert acct.ledger.positions[SYMBOL].qty == qty
        pair = sorted((o.role.value, o.qty) for o in acct.open_orders(SYMBOL, roles=PROTECTIVE))
        assert pair == [("stop_loss", qty), ("take_profit", qty)], account_id
    assert not work  # nothing left for a later drain

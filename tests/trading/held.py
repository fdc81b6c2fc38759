"""An engine holding one position on a venue that fills when the test says (see
:mod:`tests.trading.slow_venue`), recording what the engine asks of it."""

from __future__ import annotations

from decimal import Decimal

from rampart.clock import SimClock
from rampart.domain.accounts import AccountSpec
from rampart.domain.errors import VenueError
from rampart.domain.orders import Order, OrderRole, OrderStatus, OrderType, Side
from rampart.risk.profiles import get_profile
from rampart.trading.account import AccountRuntime
from rampart.trading.bus import EventBus
from rampart.trading.engine import Engine

from .helpers import INSTRUMENT, SYMBOL, ScriptedAgent, candle, long_intent
from .slow_venue import SlowVenue

D = Decimal


class HeldVenue(SlowVenue):
    """Records every pair and cancel asked; can hold exits, drop pairs or refuse a submit."""

    def __init__(self) -> None:
        super().__init__(INSTRUMENT, D(100))
        self.pairs: list[tuple[Decimal, Decimal]] = []
        self.cancels: list[str] = []
        self.hold_exits = False
        """Market exits stay working until the test fills them (else they fill at once)."""
        self.drop_pairs = False
        """Accept a pair, then end both legs at once (a venue that keeps dropping it)."""
        self.refuse_exits = False
        """Refuse market exits (the venue answers with an error)."""
        self.quiet_cancels = False
        """Confirm a cancel but send no report of it (a venue whose reports come by polling)."""

    async def submit(self, order: Order) -> None:
        if order.role is OrderRole.EXIT and self.refuse_exits:
            raise VenueError("the venue refused the exit", code="rejected")
        if order.role is OrderRole.EXIT and self.hold_exits:
            mine = order.snapshot()
            mine.status = OrderStatus.SUBMITTED
            self.open[order.client_id] = mine
            self._report(mine)
            return
        await super().submit(order)

    async def submit_oco(self, stop_loss, take_profit) -> None:  # type: ignore[no-untyped-def]
        self.pairs.append((stop_loss.qty, take_profit.qty))
        await super().submit_oco(stop_loss, take_profit)
        if self.drop_pairs:
            self.finish(stop_loss.client_id, OrderStatus.CANCELED)
            self.finish(take_profit.client_id, OrderStatus.CANCELED)

    async def cancel(self, account_id: str, client_id: str) -> None:
        assert account_id == "a1"
        self.cancels.append(client_id)
        if self.quiet_cancels and client_id in self.open:
            del self.open[client_id]
            return
        await super().cancel(account_id, client_id)

    def working(self, role: OrderRole) -> list[str]:
        return [c for c, o in self.open.items() if o.role is role]


def elsewhere(acct: AccountRuntime, role: OrderRole) -> None:
    """A working order of ``role`` on another symbol (another position's), known locally."""
    order = Order(
        client_id=f"eth-{role.value}",
        account_id="a1",
        symbol="ETH/USDT",
        side=Side.BUY if role is OrderRole.ENTRY else Side.SELL,
        type=OrderType.STOP_MARKET if role is OrderRole.STOP_LOSS else OrderType.MARKET,
        qty=D(1),
        role=role,
        stop_price=D(90) if role is OrderRole.STOP_LOSS else None,
    )
    acct.orders[order.client_id] = order


async def held(qty: str, venue: HeldVenue | None = None) -> tuple[Engine, HeldVenue]:
    """``qty`` coins held from one entry, with its pair resting."""
    venue = venue or HeldVenue()
    agent = ScriptedAgent(lambda i, view: [long_intent(view, "0.98", "1.05")] if i == 0 else [])
    engine = Engine(
        venue=venue,
        clock=SimClock(0),
        bus=EventBus(),
        make_agent=lambda name, params: agent,  # type: ignore[arg-type,return-value]
        profile_for=get_profile,
        taker_fee=D(0),
    )
    await engine.add_account(AccountSpec("a1", "scripted", "moderate", D(10_000), (SYMBOL,)))
    await engine.on_candle(candle(0, 100, 100, 100, 100))
    (entry,) = venue.entries()
    venue.fill(entry, D(qty))
    await engine.executor.drain()
    return engine, venue

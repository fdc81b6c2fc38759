"""A fill the books missed while away is booked by reconciliation, after one they already hold.

An entry fills in two parts on the venue; the first is reported and booked, the second
happens while Rampart is away. Reconciliation finds the order by its client id, reads the
account's trade history, passes over the fill the books hold and books the other one, with
its own id, price and fee (mutant C1: ``skip >= fill.qty`` made ``>`` in
``trading/reconcile/known.py`` booked the first fill again instead, and reported no
difference).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from decimal import Decimal

from rampart.clock import SimClock
from rampart.domain.accounts import AccountSpec
from rampart.domain.fills import Balance, Fill, Liquidity
from rampart.domain.orders import Order, OrderStatus
from rampart.risk.profiles import get_profile
from rampart.trading.bus import EventBus
from rampart.trading.engine import Engine
from rampart.trading.ports import Amend, Updates, VenueCapabilities, VenueOrder
from rampart.trading.reconcile.context import ReconcileReport
from rampart.trading.reconcile.reconciler import Reconciler

from .helpers import INSTRUMENT, SYMBOL, ScriptedAgent, candle, long_intent
from .slow_venue import SlowVenue

PRICE = Decimal("100")
CAPITAL = Decimal(10_000)


class HistoryVenue(SlowVenue):
    """The slow venue with a trade history and reconciliation's reads; it follows nothing
    by itself, so reconciliation looks every order up by its client id."""

    capabilities = VenueCapabilities(
        native_brackets=False,
        updates=Updates.PUSHED,
        keyed_accounts=False,
        reconciliation=True,
        snapshots=False,
        amend=Amend.NONE,
    )
    keeps_trade_history = True

    def __init__(self) -> None:
        super().__init__(INSTRUMENT, PRICE)
        self.history: list[Fill] = []
        self.orders: dict[str, Order] = {}
        self.away = False

    async def submit(self, order: Order) -> None:
        self.orders[order.client_id] = order.snapshot()
        await super().submit(order)

    def fill_at(self, client_id: str, qty: Decimal, price: Decimal, fee: Decimal) -> None:
        order = self.open[client_id]
        fill = Fill(
            f"t{len(self.history) + 1}",
            client_id,
            order.account_id,
            order.symbol,
            order.side,
            qty,
            price,
            fee,
            Liquidity.TAKER,
            self.now,
        )
        self.history.append(fill)
        order.filled_qty += qty
        order.status = OrderStatus.FILLED if order.remaining == 0 else OrderStatus.PARTIALLY_FILLED
        self.orders[client_id] = order.snapshot()
        if not self.away:
            self._report(order, fill)

    async def fetch_order(self, account_id: str, client_id: str) -> VenueOrder | None:
        order = self.orders.get(client_id)
        if order is None:
            return None
        paid = sum((f.qty * f.price for f in self.history if f.client_id == client_id), Decimal(0))
        return VenueOrder(
            client_id,
            order.symbol,
            order.status,
            order.qty,
            order.filled_qty,
            paid / order.filled_qty if order.filled_qty else Decimal(0),
            side=order.side,
            type=order.type,
            ts=order.created_at,
        )

    async def fetch_recent_orders(
        self, account_id: str, symbol: str, since_ms: int | None = None, limit: int | None = None
    ) -> list[VenueOrder]:
        views = [await self.fetch_order(account_id, c) for c in self.orders]
        return [v for v in views if v is not None]

    async def fetch_fills(
        self, account_id: str, symbol: str, since_ms: int | None = None, limit: int | None = None
    ) -> list[Fill]:
        return list(self.history)

    async def fetch_balances(self, account_id: str) -> dict[str, Balance]:
        base = sum((f.qty for f in self.history), Decimal(0))
        spent = sum((f.qty * f.price + f.fee for f in self.history), Decimal(0))
        return {
            "BTC": Balance("BTC", base, Decimal(0)),
            "USDT": Balance("USDT", CAPITAL - spent, Decimal(0)),
        }

    def following(self, account_id: str) -> dict[str, bool]:
        return {}

    def follow(self, order: Order, booked_fill_ids: Iterable[str] = ()) -> None:
        pass

    async def refresh(self, account_id: str | None = None) -> None:
        pass


def test_the_fill_missed_while_away_is_booked_after_the_one_already_booked() -> None:
    async def scenario() -> tuple[Engine, HistoryVenue, ReconcileReport]:
        venue = HistoryVenue()
        agent = ScriptedAgent(lambda i, v: [long_intent(v, "0.98", "1.05")] if i == 0 else [])
        engine = Engine(
            venue=venue,
            clock=SimClock(0),
            bus=EventBus(),
            make_agent=lambda name, params: agent,  # type: ignore[arg-type,return-value]
            profile_for=get_profile,
            taker_fee=Decimal(0),
        )
        await engine.add_account(
            AccountSpec("a1", "scripted", "moderate", Decimal(10_000), (SYMBOL,))
        )
        await engine.on_candle(candle(0, 100, 100, 100, 100))
        (entry,) = venue.entries()
        venue.fill_at(entry, Decimal(8), Decimal(100), Decimal("0.8"))
        await engine.executor.drain()
        venue.away = True  # the rest fills while Rampart is not listening
        venue.fill_at(entry, Decimal(12), Decimal("100.5"), Decimal("1.206"))
        report = await Reconciler().run(engine, reason="start")
        return engine, venue, report

    engine, venue, report = asyncio.run(scenario())
    acct = engine.accounts["a1"]
    pos = acct.ledger.positions[SYMBOL]
    assert pos.qty == Decimal(20)
    # Both executions, each once, at their own prices and fees.
    assert acct.ledger.cash == Decimal(10_000) - 8 * Decimal(100) - Decimal("0.8") - 12 * Decimal(
        "100.5"
    ) - Decimal("1.206")
    assert acct.ledger.fees_paid == Decimal("0.8") + Decimal("1.206")
    assert report.repairs["fill_booked"] == 1
    assert not [d for d in report.differences if "filled" in d], report.differences

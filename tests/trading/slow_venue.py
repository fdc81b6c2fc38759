"""A venue whose entries fill only when the test says so: a swap re-sent until it lands, an
order resting in a thin book. Every fill is at the one fixed price with no fee, so an
account's equity stays its capital and the profile's largest position is one fixed quantity.

Exits (market sells) fill at once. A cancel of an entry is not confirmed when it is asked
for (the venue keeps trying, as a chain or an exchange under load does): the entry may still
fill, partly or wholly, until the test reports it canceled.
"""

from __future__ import annotations

from decimal import Decimal

from rampart.domain.errors import OutcomeUnknown
from rampart.domain.fills import Balance, Fill, Liquidity
from rampart.domain.instruments import Instrument
from rampart.domain.orders import Order, OrderRole, OrderStatus
from rampart.trading.ports import (
    Amend,
    Updates,
    VenueCapabilities,
    VenueListener,
    VenueOrder,
    VenueReport,
)


class SlowVenue:
    name = "slow"
    capabilities = VenueCapabilities(
        native_brackets=False,
        updates=Updates.PUSHED,
        keyed_accounts=False,
        reconciliation=False,
        snapshots=False,
        amend=Amend.NONE,
    )

    def __init__(self, instrument: Instrument, price: Decimal) -> None:
        self._instrument = instrument
        self.price = price
        self.now = 0
        self.open: dict[str, Order] = {}
        """Working orders by client id: the venue's own copies."""
        self._listener: VenueListener = lambda report: None
        self._fills = 0

    # -- the port -----------------------------------------------------------------------------

    def set_listener(self, listener: VenueListener) -> None:
        self._listener = listener

    def instrument(self, symbol: str) -> Instrument:
        return self._instrument

    async def open_account(self, account_id: str, balances: dict[str, Decimal]) -> None:
        del account_id, balances

    async def submit(self, order: Order) -> None:
        mine = order.snapshot()
        mine.status = OrderStatus.SUBMITTED
        self.open[order.client_id] = mine
        self._report(mine)
        if order.role is OrderRole.EXIT:
            self.fill(order.client_id, order.qty)

    async def submit_oco(self, stop_loss: Order, take_profit: Order) -> None:
        await self.submit(stop_loss)
        await self.submit(take_profit)

    async def cancel(self, account_id: str, client_id: str) -> None:
        order = self.open.get(client_id)
        if order is None:
            return
        if order.role is OrderRole.ENTRY:
            raise OutcomeUnknown("the cancel is on its way")
        self.finish(client_id, OrderStatus.CANCELED)

    async def fetch_order(self, account_id: str, client_id: str) -> VenueOrder | None:
        return None

    async def fetch_open_orders(self, account_id: str) -> list[VenueOrder]:
        return []

    async def fetch_balances(self, account_id: str) -> dict[str, Balance]:
        return {}

    # -- the test's hand ----------------------------------------------------------------------

    def entries(self) -> list[str]:
        """Working entries, oldest first."""
        return [c for c, o in self.open.items() if o.role is OrderRole.ENTRY]

    def fill(self, client_id: str, qty: Decimal) -> None:
        order = self.open[client_id]
        qty = min(qty, order.remaining)
        self._fills += 1
        fill = Fill(
            f"f{self._fills}",
            client_id,
            order.account_id,
            order.symbol,
            order.side,
            qty,
            self.price,
            Decimal(0),
            Liquidity.TAKER,
            self.now,
        )
        order.filled_qty += qty
        order.status = OrderStatus.FILLED if order.remaining == 0 else OrderStatus.PARTIALLY_FILLED
        if order.status is OrderStatus.FILLED:
            del self.open[client_id]
        self._report(order, fill)

    def finish(self, client_id: str, status: OrderStatus) -> None:
        """The order ends unfilled from here on: canceled, or expired (a swap whose last
        blockhash expired)."""
        order = self.open.pop(client_id)
        order.status = status
        self._report(order)

    def _report(self, order: Order, fill: Fill | None = None) -> None:
        self._listener(VenueReport(order.account_id, order.client_id, order.status, self.now, fill))

"""Builders for the paper venue tests: an instrument, candles, orders and a synchronous driver."""

from __future__ import annotations

from collections.abc import Coroutine
from decimal import Decimal
from typing import Any, TypeVar

from rampart.clock import SimClock
from rampart.domain.candles import Candle
from rampart.domain.instruments import Instrument
from rampart.domain.orders import Order, OrderRole, OrderType, Side
from rampart.trading.ports import VenueReport
from rampart.venues.paper import FeeSchedule, PaperVenue, SlippageModel

T = TypeVar("T")
D = Decimal
SYMBOL = "BTC/USDT"
MINUTE = 60_000
# min_qty above the lot, so "bad_lot" and "min_qty" are different rejections.
INSTRUMENT = Instrument(SYMBOL, "BTC", "USDT", D("0.01"), D("0.001"), D("0.002"), D("5"))
INSTRUMENTS = {SYMBOL: INSTRUMENT}

MARKET, LIMIT = OrderType.MARKET, OrderType.LIMIT
STOP, STOP_LIMIT = OrderType.STOP_MARKET, OrderType.STOP_LIMIT
BUY, SELL = Side.BUY, Side.SELL


def sync(coro: Coroutine[Any, Any, T]) -> T:
    """Run a venue coroutine that must finish without waiting on anything (no I/O)."""
    try:
        coro.send(None)
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]
    coro.close()
    raise AssertionError("the paper venue suspended: its async methods must do no I/O")


def bar(
    i: int, o: float, h: float, low: float, c: float, v: float = 1000.0, symbol: str = SYMBOL
) -> Candle:
    return Candle(symbol, i * MINUTE, o, h, low, c, v, MINUTE)


def order(
    client_id: str,
    side: Side,
    kind: OrderType,
    qty: str,
    price: str | None = None,
    stop: str | None = None,
    account: str = "a",
    symbol: str = SYMBOL,
) -> Order:
    role = OrderRole.ENTRY if side is BUY else OrderRole.EXIT
    return Order(
        client_id=client_id,
        account_id=account,
        symbol=symbol,
        side=side,
        type=kind,
        qty=D(qty),
        role=role,
        price=None if price is None else D(price),
        stop_price=None if stop is None else D(stop),
    )


class Desk:
    """A paper venue with one funded account and every report it sent, in order."""

    def __init__(
        self,
        balances: dict[str, str] | None = None,
        *,
        fees: FeeSchedule | None = None,
        slippage: SlippageModel | None = None,
        participation: str = "0.10",
        clock_ms: int = 0,
    ) -> None:
        self.clock = SimClock(clock_ms)
        self.venue = PaperVenue(INSTRUMENTS, fees, slippage, D(participation), clock=self.clock)
        self.reports: list[VenueReport] = []
        self.venue.set_listener(self.reports.append)
        funding = balances if balances is not None else {"USDT": "10000"}
        sync(self.venue.open_account("a", {k: D(v) for k, v in funding.items()}))

    def take(self) -> list[VenueReport]:
        """The reports sent since the last call."""
        out, self.reports[:] = list(self.reports), []
        return out

    def submit(self, o: Order) -> list[VenueReport]:
        sync(self.venue.submit(o))
        return self.take()

    def oco(self, stop: Order, take: Order) -> list[VenueReport]:
        sync(self.venue.submit_oco(stop, take))
        return self.take()

    def cancel(self, client_id: str, account: str = "a") -> list[VenueReport]:
        sync(self.venue.cancel(account, client_id))
        return self.take()

    def candle(self, c: Candle) -> list[VenueReport]:
        self.venue.on_candle(c)
        return self.take()

    def free(self, asset: str, account: str = "a") -> Decimal:
        bal = sync(self.venue.fetch_balances(account)).get(asset)
        return bal.free if bal else D(0)

    def locked(self, asset: str, account: str = "a") -> Decimal:
        bal = sync(self.venue.fetch_balances(account)).get(asset)
        return bal.locked if bal else D(0)

    def total(self, asset: str, account: str = "a") -> Decimal:
        return self.free(asset, account) + self.locked(asset, account)

    def open_ids(self, account: str = "a") -> list[str]:
        return [o.client_id for o in sync(self.venue.fetch_open_orders(account))]

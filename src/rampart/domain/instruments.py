"""Tradable instruments with the venue's filters: tick size, lot size, minimums."""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal

from rampart.domain.money import ZERO, dec, floor_to_step, is_multiple, round_to_step


@dataclass(frozen=True, slots=True)
class MarketRules:
    """The venue's filters beyond tick, lot and minimums (Binance's names in brackets); None
    or 0 where the venue sets none.

    - ``max_qty`` [LOT_SIZE maxQty];
    - ``market_min_qty``, ``market_max_qty``, ``market_step`` [MARKET_LOT_SIZE]: a market
      order's quantity (a step of 0: any);
    - ``bid_up``, ``bid_down``, ``ask_up``, ``ask_down`` [PERCENT_PRICE_BY_SIDE]: a buy's price
      within ``avg × bid_down`` and ``avg × bid_up`` (a sell's with the ask pair), ``avg`` the
      average price of the last ``avg_price_mins`` minutes;
    - ``max_orders`` [MAX_NUM_ORDERS], ``max_algo_orders`` [MAX_NUM_ALGO_ORDERS]: open orders
      an account may have on the symbol, stops (and each OCO's stop) counting as algo orders;
    - ``iceberg_parts`` [ICEBERG_PARTS] and the trailing-delta bounds [TRAILING_DELTA], in basis
      points: Rampart sends neither icebergs nor trailing stops, but carries what the venue says.
    """

    max_qty: Decimal | None = None
    market_min_qty: Decimal = ZERO
    market_max_qty: Decimal | None = None
    market_step: Decimal = ZERO
    bid_up: Decimal | None = None
    bid_down: Decimal | None = None
    ask_up: Decimal | None = None
    ask_down: Decimal | None = None
    avg_price_mins: int = 0
    max_orders: int | None = None
    max_algo_orders: int | None = None
    iceberg_parts: int | None = None
    min_trailing_above: int | None = None
    max_trailing_above: int | None = None
    min_trailing_below: int | None = None
    max_trailing_below: int | None = None

    @property
    def percent_price(self) -> bool:
        return None not in (self.bid_up, self.bid_down, self.ask_up, self.ask_down)


NO_RULES = MarketRules()


@dataclass(frozen=True, slots=True)
class Instrument:
    symbol: str
    base: str
    quote: str
    tick_size: Decimal
    lot_size: Decimal
    min_qty: Decimal
    min_notional: Decimal
    rules: MarketRules = NO_RULES

    def round_price(self, price: Decimal) -> Decimal:
        return round_to_step(price, self.tick_size)

    def floor_qty(self, qty: Decimal) -> Decimal:
        return floor_to_step(qty, self.lot_size)

    def price_on_tick(self, price: Decimal) -> bool:
        return is_multiple(price, self.tick_size)

    def qty_on_lot(self, qty: Decimal) -> bool:
        return is_multiple(qty, self.lot_size)

    @staticmethod
    def split_symbol(symbol: str) -> tuple[str, str]:
        if "/" not in symbol:
            raise ValueError(f"symbol {symbol!r} must look like BASE/QUOTE, for example BTC/USDT")
        base, quote = symbol.split("/", 1)
        quote = quote.partition(":")[0]  # ccxt's perpetual suffix, e.g. XRP/USDT:USDT
        return base, quote

    @classmethod
    def for_price(cls, symbol: str, typical_price: float) -> Instrument:
        """Filters for a symbol known only from its prices (replay files, synthetic data).

        The tick keeps five significant digits of the typical price and the minimum notional
        is what spot venues use for the quote currency, so tiny BTC-quoted prices keep
        their precision.
        """
        base, quote = cls.split_symbol(symbol)
        if not math.isfinite(typical_price) or typical_price <= 0:
            raise ValueError(f"cannot derive instrument filters from price {typical_price!r}")
        magnitude = math.floor(math.log10(typical_price))
        tick = Decimal(1).scaleb(magnitude - 4)
        min_notional = MIN_NOTIONAL_BY_QUOTE.get(quote, Decimal("0.0001"))
        lot_exp = math.floor(math.log10(float(min_notional) / typical_price)) - 2
        lot = Decimal(1).scaleb(min(lot_exp, 0))
        return cls(
            symbol=symbol,
            base=base,
            quote=quote,
            tick_size=tick,
            lot_size=lot,
            min_qty=lot,
            min_notional=min_notional,
        )


MIN_NOTIONAL_BY_QUOTE: dict[str, Decimal] = {
    "USDT": Decimal("5"),
    "USDC": Decimal("5"),
    "USD": Decimal("5"),
    "BUSD": Decimal("5"),
    "BTC": Decimal("0.0001"),
    "ETH": Decimal("0.001"),
}


def binance_rules(market_max_qty: Decimal, max_qty: Decimal = Decimal(9000)) -> MarketRules:
    """The filters Binance sets on its major USDT symbols (BTCUSDT's, as recorded by ccxt's
    test data): what the exchange simulator sends."""
    return MarketRules(
        max_qty=max_qty,
        market_max_qty=market_max_qty,
        bid_up=Decimal(5),
        bid_down=Decimal("0.2"),
        ask_up=Decimal(5),
        ask_down=Decimal("0.2"),
        avg_price_mins=5,
        max_orders=200,
        max_algo_orders=5,
        iceberg_parts=10,
        min_trailing_above=10,
        max_trailing_above=2000,
        min_trailing_below=10,
        max_trailing_below=2000,
    )


DEFAULT_INSTRUMENTS: dict[str, Instrument] = {
    "BTC/USDT": Instrument(
        "BTC/USDT", "BTC", "USDT", dec("0.01"), dec("0.00001"), dec("0.00001"), dec("5"),
        binance_rules(dec("128.52621715")),
    ),
    "ETH/USDT": Instrument(
        "ETH/USDT", "ETH", "USDT", dec("0.01"), dec("0.0001"), dec("0.0001"), dec("5"),
        binance_rules(dec("3277.54882761")),
    ),
    "SOL/USDT": Instrument(
        "SOL/USDT", "SOL", "USDT", dec("0.01"), dec("0.001"), dec("0.001"), dec("5"),
        binance_rules(dec("44000"), dec("90000")),
    ),
}  # fmt: skip


def notional(qty: Decimal, price: Decimal) -> Decimal:
    return qty * price if qty > ZERO else ZERO

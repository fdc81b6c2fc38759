"""A ccxt trade as a Fill, with its fee in the asset the exchange took it in.

Binance takes a buy's commission from the base received, a sell's from the quote received, or
BNB when the account pays fees with BNB (``faqs/commission_faq.md`` of its spot API reference).
A fee in the base or the quote is valued at the trade's own price; a fee in a third asset is
valued at that asset's last price in the quote, read once a minute of the Clock at most.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import ccxt.async_support as ccxt
import structlog

from rampart.clock import Clock
from rampart.domain.errors import RampartError
from rampart.domain.fills import Fill
from rampart.domain.instruments import Instrument
from rampart.domain.money import ZERO
from rampart.domain.orders import Side
from rampart.venues import ccxt_mapping as mapping
from rampart.venues.budget_lanes import Lane
from rampart.venues.ccxt_errors import CcxtCaller, Op

log = structlog.get_logger("rampart.venues.ccxt")

FEE_PRICE_MS = 60_000
"""How long (on the Clock) a third asset's price values the fees taken in it."""


def check_ticker(ticker: Any) -> None:
    if (
        not isinstance(ticker, dict)
        or not isinstance(ticker.get("info"), dict)
        or mapping.num(ticker.get("last")) is None
    ):
        raise ccxt.BadResponse("the answer is not a ticker with a last price")


async def last_price(caller: CcxtCaller, client: Any, symbol: str) -> float | None:
    """The exchange's last traded price of ``symbol`` from its ticker: a second reading the
    market-data guard checks a suspect candle against (the ticker is not the candle feed)."""
    ticker = await caller.call(
        client,
        "fetch_ticker",
        Op.READ,
        lambda: client.fetch_ticker(symbol),
        check_ticker,
        lane=Lane.MARKET,
    )
    last = mapping.num(ticker.get("last"))
    return float(last) if last is not None and last > ZERO else None


class FeePrices:
    def __init__(self, exchange_id: str, caller: CcxtCaller, clock: Clock) -> None:
        self.name = exchange_id
        self.caller = caller
        self.clock = clock
        self.prices: dict[tuple[str, str], tuple[Decimal, int]] = {}
        """(asset, quote) → (last price, when read on the Clock)."""

    async def read(self, client: Any, trades: list[Any], inst: Instrument) -> None:
        """Read the price of each third asset these trades paid fees in, unless it is fresh."""
        now = self.clock.now_ms()
        wanted = {
            c
            for trade in trades
            if isinstance(trade, dict)
            and (c := mapping.fee_currency(trade)) is not None
            and c not in (inst.base, inst.quote)
        }
        for asset in sorted(wanted):
            known = self.prices.get((asset, inst.quote))
            if known is not None and now - known[1] < FEE_PRICE_MS:
                continue
            symbol = f"{asset}/{inst.quote}"
            try:
                ticker = await self.caller.call(
                    client,
                    "fetch_ticker",
                    Op.READ,
                    lambda symbol=symbol: client.fetch_ticker(symbol),  # type: ignore[misc]
                    check_ticker,
                    lane=Lane.MARKET,
                )
            except RampartError as exc:
                log.warning(
                    "fee_price_unread", exchange=self.name, symbol=symbol, error=exc.message
                )
                continue
            last = mapping.num(ticker.get("last"))
            if last is not None and last > ZERO:
                self.prices[(asset, inst.quote)] = (last, now)

    def fill(
        self,
        trade: dict[str, Any],
        account_id: str,
        client_id: str,
        inst: Instrument,
        side: Side | None = None,
    ) -> Fill:
        price = mapping.num(trade.get("price")) or ZERO
        fee, fee_asset, fee_qty = mapping.fee_of(trade, inst, price)
        if fee is None:
            known = self.prices.get((fee_asset, inst.quote))
            if known is None:
                # Booked in its asset all the same; only its value in the quote is missing.
                log.error("fee_unvalued", exchange=self.name, order=client_id, asset=fee_asset)
            fee = fee_qty * known[0] if known is not None else ZERO
        if side is None:
            side = Side.SELL if trade.get("side") == "sell" else Side.BUY
        return mapping.fill_from_trade(
            trade,
            account_id=account_id,
            client_id=client_id,
            inst=inst,
            side=side,
            fee=fee,
            now_ms=self.clock.now_ms(),
            fee_asset=fee_asset,
            fee_qty=fee_qty,
        )

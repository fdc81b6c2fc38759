"""The price a Solana market trades at now, for the feed (``feed.kind: solana``): a DEX has
no ticker, so it is read from quotes on the venue's own routes.

A small round trip is quoted: buying base with ``solana.min_notional`` of quote (ExactIn
quote→base), then selling that base back (ExactIn base→quote). The buy's price is above the
pool's and the sell's below by the same fees, so their average is the pool's price to within
the fees' second order. Jupiter is asked first: it takes no platform fee, so its round trip
is the tighter one; bags.fm answers when Jupiter does not.
"""

from __future__ import annotations

from decimal import ROUND_DOWN, Decimal
from typing import TYPE_CHECKING

import structlog

from rampart.domain.errors import DataError, RampartError, VenueError
from rampart.venues.solana.markets import Market
from rampart.venues.solana.routes import Route

if TYPE_CHECKING:
    from rampart.venues.solana.venue import SolanaVenue

log = structlog.get_logger("rampart.venues.solana")

PRICE_ROUTES = ("jupiter", "bags")
"""Asked in this order; the first that quotes both legs gives the price."""


def _quote_amount(notional: Decimal, market: Market) -> int:
    """``notional`` quote in base units, rounded down, at least the smallest unit."""
    units = notional.scaleb(market.quote_decimals).to_integral_value(ROUND_DOWN)
    return max(int(units), 1)


async def _round_trip(route: Route, market: Market, spend: int, slippage_bps: int) -> Decimal:
    """Mid of one route: quote units spent buying and got selling, over twice the base."""
    buy = await route.quote(market.quote_mint, market.base_mint, spend, "ExactIn", slippage_bps)
    base = buy.out_amount
    if base <= 0:
        raise DataError(f"{route.name} quoted no {market.base} for {market.symbol}.")
    sell = await route.quote(market.base_mint, market.quote_mint, base, "ExactIn", slippage_bps)
    # (spent/base + got/base) / 2 in base units, scaled once from base to token units:
    # one division, so the only rounding is Decimal's 28 significant digits.
    mid = Decimal(buy.in_amount + sell.out_amount) / Decimal(2 * base)
    return mid.scaleb(market.base_decimals - market.quote_decimals)


async def mid_price(venue: SolanaVenue, symbol: str) -> Decimal:
    """Quote per base that ``symbol`` trades at now, from the venue's routes."""
    await venue.ready()
    market = venue.markets.market(symbol)
    spend = _quote_amount(venue.config.min_notional or Decimal(1), market)
    slippage = venue.config.slippage_bps
    names = [n for n in PRICE_ROUTES if n in venue.routes]
    names += [n for n in venue.routes if n not in names]
    problems: list[str] = []
    for name in names:
        route = venue.routes[name]
        try:
            return await _round_trip(route, market, spend, slippage)
        except RampartError as exc:
            problems.append(exc.message.rstrip("."))
        except Exception as exc:  # a route's bug must not stop the feed: try the next one
            log.warning("price_quote_failed", route=name, error=type(exc).__name__)
            problems.append(f"{name} failed ({type(exc).__name__})")
    raise VenueError(
        f"No route would quote {symbol} for a price: {'; '.join(problems)}.", "no_quote"
    )


__all__ = ["PRICE_ROUTES", "mid_price"]

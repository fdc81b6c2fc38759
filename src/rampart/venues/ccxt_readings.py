"""An exchange's own price of a symbol, read apart from its candles: the market-data guard's
second reading of a held candle (:mod:`rampart.market.second_reading`).

Three sources are tried in order, each with its own deadline, and the first that answers with a
price is the reading: the ticker's last trade, the order book's mid (best bid and ask), the last
public trade. None of them is the candle feed, so a feed spoiling its candles cannot confirm its
own print through them. When all three fail the reading fails, saying how each did, and the
held candle stays held (else a ticker that times out lets two alike bad candles confirm each
other)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

import ccxt.async_support as ccxt

from rampart.domain.errors import VenueError
from rampart.domain.money import ZERO
from rampart.venues import ccxt_mapping as mapping
from rampart.venues.budget_lanes import Lane
from rampart.venues.ccxt_errors import CcxtCaller, Op
from rampart.venues.ccxt_fees import last_price

SOURCE_DEADLINE_S = 3.0
"""How long each source may take (the three together stay inside the asker's deadline)."""


def _positive(value: Any) -> Decimal | None:
    found = mapping.num(value)
    return found if found is not None and found > ZERO else None


def _best(side: Any) -> Decimal | None:
    if not isinstance(side, list) or not side or not isinstance(side[0], list | tuple):
        return None
    return _positive(side[0][0]) if side[0] else None


def check_book(book: Any) -> None:
    if (
        not isinstance(book, dict)
        or _best(book.get("bids")) is None
        or _best(book.get("asks")) is None
    ):
        raise ccxt.BadResponse("the answer is not an order book with a bid and an ask")


def check_public_trades(trades: Any) -> None:
    if not isinstance(trades, list) or not trades or not isinstance(trades[-1], dict):
        raise ccxt.BadResponse("the answer is not a list of trades")
    if _positive(trades[-1].get("price")) is None:
        raise ccxt.BadResponse("the last trade has no price")


async def book_mid(caller: CcxtCaller, client: Any, symbol: str) -> float | None:
    book = await caller.call(
        client,
        "fetch_order_book",
        Op.READ,
        lambda: client.fetch_order_book(symbol, 5),
        check_book,
        lane=Lane.MARKET,
    )
    bid, ask = _best(book["bids"]), _best(book["asks"])
    if bid is None or ask is None or bid > ask:
        return None
    return float((bid + ask) / 2)


async def last_trade(caller: CcxtCaller, client: Any, symbol: str) -> float | None:
    trades = await caller.call(
        client,
        "fetch_trades",
        Op.READ,
        lambda: client.fetch_trades(symbol, None, 1),
        check_public_trades,
        lane=Lane.MARKET,
    )
    price = _positive(trades[-1].get("price"))
    return float(price) if price is not None else None


Source = Callable[[CcxtCaller, Any, str], Awaitable[float | None]]
SOURCES: tuple[tuple[str, Source], ...] = (
    ("ticker", last_price),
    ("order book", book_mid),
    ("trades", last_trade),
)


async def independent_price(
    caller: CcxtCaller,
    client: Any,
    symbol: str,
    deadline_s: float = SOURCE_DEADLINE_S,
    sources: tuple[tuple[str, Source], ...] = SOURCES,
) -> float:
    """The first price one of ``sources`` gives; raises :class:`VenueError` saying how each
    failed when none does."""
    failures: list[str] = []
    for name, read in sources:
        try:
            price = await asyncio.wait_for(read(caller, client, symbol), deadline_s)
        except TimeoutError:
            failures.append(f"the {name} timed out")
            continue
        except Exception:  # an error, a refusal, a malformed answer: the next source is asked
            failures.append(f"the {name} failed")
            continue
        if price is not None:
            return price
        failures.append(f"the {name} gave no price")
    raise VenueError(", ".join(failures))


__all__ = ["SOURCES", "book_mid", "check_book", "independent_price", "last_trade"]

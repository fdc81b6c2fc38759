"""The exchange's average price, read for PERCENT_PRICE_BY_SIDE before an order with a limit
price is sent: once a symbol per instant of the venue's clock (a shard's candle), every account's
orders of that instant judged against it; a new instant reads it again, and an unread one is
asked for by the next order."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

from rampart.clock import SimClock
from rampart.domain.errors import VenueError
from rampart.domain.instruments import DEFAULT_INSTRUMENTS
from rampart.venues.ccxt_rules import Averages

BTC = DEFAULT_INSTRUMENTS["BTC/USDT"]


class Client:
    def market_id(self, symbol: str) -> str:
        return symbol.replace("/", "")


class Caller:
    """Answers the average-price calls in turn: a price, or a failure."""

    def __init__(self, answers: list[str | None]) -> None:
        self.answers = answers
        self.calls = 0

    async def call(self, client: Any, name: str, op: Any, fn: Any, **kw: Any) -> Any:
        answer = self.answers[self.calls]
        self.calls += 1
        if answer is None:
            raise VenueError("the exchange is away")
        return {"price": answer}


def test_the_average_is_read_once_an_instant_and_again_at_the_next() -> None:
    async def go() -> None:
        clock = SimClock(1_000)
        caller = Caller(["100", None, "101", "102"])
        averages = Averages(clock)

        async def read() -> Decimal | None:
            return await averages.get("binance", caller, Client(), BTC)  # type: ignore[arg-type]

        assert [await read(), await read(), await read()] == [Decimal(100)] * 3
        assert caller.calls == 1  # three orders of one candle, one read
        clock.set(2_000)
        assert await read() is None  # the next candle's read failed: the exchange judges
        assert await read() == Decimal(101)  # and the next order asks again
        assert await read() == Decimal(101)
        clock.set(3_000)
        assert await read() == Decimal(102)
        assert caller.calls == 4

    asyncio.run(go())

"""The Solana feed: every quote is a price tick, quotes fold into closed candles on the grid."""

from __future__ import annotations

import asyncio
from decimal import Decimal

from rampart.clock import SimClock
from rampart.domain.candles import Candle
from rampart.domain.errors import VenueError
from rampart.market.solana_feed import PriceTick, SolanaFeed

START = 1_700_000_040_000  # on the minute grid


def _prices(seq: list[str | Exception]):
    it = iter(seq)

    async def sample(symbol: str) -> Decimal:
        item = next(it)
        if isinstance(item, Exception):
            raise item
        return Decimal(item)

    return sample


def test_samples_are_ticks_and_fold_into_closed_candles() -> None:
    clock = SimClock(START)
    prices = ["100", "103", "99", "101", "105"]
    feed = SolanaFeed(_prices(prices), ["SOL/USDC"], clock=clock, poll_every_s=20)

    async def main() -> list[Candle | PriceTick]:
        out: list[Candle | PriceTick] = []
        for _ in prices:
            out.extend(await feed.poll_once())
            await clock.sleep(20)
        return out

    out = asyncio.run(main())
    ticks = [x for x in out if isinstance(x, PriceTick)]
    candles = [x for x in out if isinstance(x, Candle)]
    assert [t.price for t in ticks] == [Decimal(p) for p in prices]
    # Samples at 0, 20, 40 s fall in the first minute; 60 s opens the next and closes it.
    assert len(candles) == 1
    first = candles[0]
    assert (first.ts, first.open, first.high, first.low, first.close) == (
        START,
        100.0,
        103.0,
        99.0,
        99.0,
    )
    # The candle comes before the tick that closed it, so agents see it first.
    closing = out.index(first)
    assert isinstance(out[closing + 1], PriceTick) and out[closing + 1].price == Decimal("101")


def test_a_failing_quote_is_skipped_and_the_symbol_goes_stale_then_fresh() -> None:
    clock = SimClock(START)
    seen: list[tuple[str, bool]] = []
    failures: list[str | Exception] = ["100"] + [VenueError("Jupiter is down")] * 4 + ["101"]
    feed = SolanaFeed(
        _prices(failures),
        ["SOL/USDC"],
        clock=clock,
        poll_every_s=30,
        stale_after_s=90,
        on_stale=lambda s, stale: seen.append((s, stale)),
    )

    async def main() -> list[Candle | PriceTick]:
        out: list[Candle | PriceTick] = []
        for _ in failures:
            out.extend(await feed.poll_once())
            await clock.sleep(30)
        return out

    out = asyncio.run(main())
    assert [t.price for t in out if isinstance(t, PriceTick)] == [Decimal("100"), Decimal("101")]
    assert seen == [("SOL/USDC", True), ("SOL/USDC", False)]

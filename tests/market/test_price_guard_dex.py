"""The guard on a DEX feed's candles: folded from quotes, they carry no volume, so the volume
checks (moved with no volume, no trade) do not apply there; every other check does."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from rampart.clock import SimClock
from rampart.domain.candles import Candle
from rampart.market.guard_settings import PriceGuardConfig
from rampart.market.price_guard import PriceGuard
from rampart.market.solana_feed import SolanaFeed

START = 1_700_000_040_000


async def _never(symbol: str) -> Decimal:
    raise AssertionError("not sampled")


def _candles(prices: list[float]) -> list[Candle]:
    """The candles a Solana feed folds from one quote every 15 s at these prices."""
    feed = SolanaFeed(_never, ["SOL/USDC"], clock=SimClock(START))
    out: list[Candle] = []
    for i, price in enumerate(prices):
        for item in feed.accept("SOL/USDC", Decimal(str(price)), START + i * 15_000):
            if isinstance(item, Candle):
                out.append(item)
    return out


def test_a_dex_feeds_candles_count_and_a_spoiled_one_is_still_held() -> None:
    walk = [150 * (1 + 0.001 * ((i * 7) % 5 - 2)) for i in range(4 * 40)]
    candles = _candles(walk)
    assert len(candles) == 39 and all(c.volume == 0 for c in candles)
    guard = PriceGuard(PriceGuardConfig(), "solana", volumes=False)  # as the session builds it
    admitted = [c for candle in candles for c in guard.admit(candle)]
    assert admitted == candles and not guard.counts
    # A close read from a quote 1000 times too high is held, not taken.
    last = candles[-1]
    bad = replace(last, ts=last.ts + 60_000, open=last.close, high=150_000.0, close=150_000.0)
    assert guard.admit(bad) == () and guard.held("SOL/USDC") == 1
    # A feed that knows volume still drops a candle that moved with none.
    ccxt = PriceGuard(PriceGuardConfig(), "ccxt")
    assert ccxt.admit(candles[0]) == () and ccxt.counts == {"dropped": 1}

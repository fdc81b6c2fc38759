"""Candles and price ticks for Solana tokens (``feed.kind: solana``), made from DEX quotes.

A DEX has no candle endpoint: every ``poll_every_s`` the feed asks the venue for the price it
could trade each market at (a small quote both ways, through the same routes the swaps take),
hands each sample on at once as a :class:`PriceTick` — the engine's position monitor holds the
stop-loss and take-profit of every Solana position on it, since nothing rests on the chain —
and folds the samples into candles on the timeframe's grid. A candle is yielded when the first
sample of the next bucket arrives, so every candle is closed. Volume is not known from quotes
and is 0. A sample that fails is skipped (the symbol goes stale after ``stale_after_s``; the
engine refuses entries on a stale symbol), and the feed keeps polling.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal

import structlog

from rampart.clock import Clock
from rampart.domain.candles import Candle, timeframe_ms
from rampart.domain.errors import RampartError

log = structlog.get_logger("rampart.market.solana")

PriceSample = Callable[[str], Awaitable[Decimal]]
"""The price one market trades at now (the venue's quoted mid), in its quote currency."""
StaleCallback = Callable[[str, bool], None]


@dataclass(frozen=True, slots=True)
class PriceTick:
    """A price between candles: the monitor acts on it, agents do not."""

    symbol: str
    price: Decimal
    ts: int


@dataclass(slots=True)
class _Bucket:
    open_ts: int
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal

    def add(self, price: Decimal) -> None:
        self.high = max(self.high, price)
        self.low = min(self.low, price)
        self.close = price


class SolanaFeed:
    def __init__(
        self,
        sample: PriceSample,
        symbols: Iterable[str],
        *,
        clock: Clock,
        timeframe: str = "1m",
        poll_every_s: float = 5.0,
        stale_after_s: float = 120.0,
        on_stale: StaleCallback | None = None,
    ) -> None:
        self.sample = sample
        self.symbols = list(symbols)
        self.clock = clock
        self.tf_ms = timeframe_ms(timeframe)
        self.poll_every_s = poll_every_s
        self.stale_after_ms = int(stale_after_s * 1000)
        self.on_stale = on_stale
        self._buckets: dict[str, _Bucket] = {}
        self._last_ok: dict[str, int] = {}
        self._stale: set[str] = set()
        self.closed = False

    async def backfill(self, symbol: str) -> list[Candle]:
        """No history on a DEX quote API: the agents warm up on the candles that follow."""
        return []

    def _candle(self, symbol: str, b: _Bucket) -> Candle:
        return Candle(
            symbol=symbol,
            ts=b.open_ts,
            open=float(b.open),
            high=float(b.high),
            low=float(b.low),
            close=float(b.close),
            volume=0.0,
            timeframe_ms=self.tf_ms,
        )

    def accept(self, symbol: str, price: Decimal, now: int) -> list[Candle | PriceTick]:
        """Fold one sample in: the tick, preceded by the candle it closed, if any."""
        out: list[Candle | PriceTick] = []
        open_ts = now // self.tf_ms * self.tf_ms
        bucket = self._buckets.get(symbol)
        if bucket is None or open_ts > bucket.open_ts:
            if bucket is not None:
                out.append(self._candle(symbol, bucket))
            self._buckets[symbol] = _Bucket(open_ts, price, price, price, price)
        else:
            bucket.add(price)
        out.append(PriceTick(symbol, price, now))
        return out

    def _mark(self, symbol: str, now: int, ok: bool) -> None:
        if ok:
            self._last_ok[symbol] = now
        last = self._last_ok.get(symbol)
        stale = last is None or now - last > self.stale_after_ms
        if stale != (symbol in self._stale):
            if stale:
                self._stale.add(symbol)
            else:
                self._stale.discard(symbol)
            if self.on_stale is not None:
                self.on_stale(symbol, stale)

    async def poll_once(self) -> list[Candle | PriceTick]:
        out: list[Candle | PriceTick] = []
        for symbol in self.symbols:
            now = self.clock.now_ms()
            try:
                price = await self.sample(symbol)
            except RampartError as exc:
                log.warning("price_sample_failed", symbol=symbol, error=exc.message)
                self._mark(symbol, now, ok=False)
                continue
            if price <= 0:
                self._mark(symbol, now, ok=False)
                continue
            self._mark(symbol, now, ok=True)
            out.extend(self.accept(symbol, price, now))
        return out

    async def candles(self) -> AsyncIterator[Candle | PriceTick]:
        while not self.closed:
            for item in await self.poll_once():
                yield item
            await self.clock.sleep(self.poll_every_s)

    async def close(self) -> None:
        self.closed = True

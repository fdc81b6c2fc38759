"""Synthetic candles: seeded, reproducible, with volatility clustering and fat tails.

Returns follow a GARCH(1,1) process driven by Student-t innovations, so calm and wild
stretches alternate and large moves happen more often than a normal distribution allows.
Candles are produced in fixed blocks whose random draws depend only on (seed, symbol, block
number); the volatility and price carried from block to block make the series continuous.
Candle *i* of a symbol is therefore the same however the stream is started or resumed.
"""

from __future__ import annotations

import asyncio
import math
import zlib
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from rampart.domain.candles import Candle, timeframe_ms
from rampart.domain.errors import ConfigError
from rampart.market.series import CandleSeries, FloatArray

BLOCK = 4096
DEFAULT_START_MS = 1_704_067_200_000  # 2024-01-01 00:00 UTC
DEFAULT_START_PRICES = {"BTC/USDT": 42_000.0, "ETH/USDT": 2_300.0, "SOL/USDT": 100.0}
OTHER_START_PRICE = 100.0
# Per-minute return volatility, roughly what these markets show; others sit in between.
MINUTE_VOL = {"BTC/USDT": 0.0008, "ETH/USDT": 0.0010, "SOL/USDT": 0.0014}
OTHER_MINUTE_VOL = 0.0011
USD_QUOTES = frozenset({"USDT", "USDC", "USD", "BUSD", "FDUSD", "TUSD", "DAI"})
# Quote notional traded per minute at the start, for volume.
MINUTE_NOTIONAL = 250_000.0

# GARCH(1,1): alpha + beta < 1 keeps variance stationary; with t(6) innovations (kurtosis 6)
# the fourth moment stays finite too (beta² + 2·alpha·beta + 6·alpha² = 0.97 < 1), so the
# measured kurtosis of a long sample is stable rather than dominated by one freak candle.
ALPHA = 0.10
BETA = 0.86
T_DF = 6.0


@dataclass
class _State:
    block: int
    sigma2: float
    log_price: float


@dataclass(frozen=True)
class _Block:
    ts: np.ndarray
    open: FloatArray
    high: FloatArray
    low: FloatArray
    close: FloatArray
    volume: FloatArray


class _Stream:
    """One symbol's endless sequence of candle blocks."""

    def __init__(self, feed: SyntheticFeed, symbol: str) -> None:
        self.symbol = symbol
        self._seed = (feed.seed, zlib.crc32(symbol.encode()))
        self._start_ms = feed.start_ms
        self._tf_ms = feed.timeframe_ms
        start_price = feed.start_prices.get(symbol) or DEFAULT_START_PRICES.get(
            symbol, OTHER_START_PRICE
        )
        self._start_price = start_price
        vol = MINUTE_VOL.get(symbol, OTHER_MINUTE_VOL) * math.sqrt(self._tf_ms / 60_000)
        self._var = vol * vol
        self._omega = self._var * (1.0 - ALPHA - BETA)
        quote = symbol.split("/", 1)[1].split(":", 1)[0]
        self._decimals = (
            2 if quote in USD_QUOTES else max(2, 7 - math.floor(math.log10(start_price)))
        )
        self._tick = 10.0**-self._decimals
        self.state = _State(block=0, sigma2=self._var, log_price=math.log(start_price))

    def _round(self, values: FloatArray) -> FloatArray:
        # Rounding is monotone, so high >= max(open, close) >= min(open, close) >= low survives.
        return np.maximum(np.round(values, self._decimals), self._tick)

    def next_block(self) -> _Block:
        state = self.state
        rng = np.random.default_rng([*self._seed, state.block])
        scale = math.sqrt(T_DF / (T_DF - 2.0))
        z = rng.standard_t(T_DF, BLOCK) / scale
        wick_up = np.abs(rng.standard_normal(BLOCK))
        wick_down = np.abs(rng.standard_normal(BLOCK))
        volume_noise = rng.standard_normal(BLOCK)

        sigma2 = np.empty(BLOCK)
        s2, omega = state.sigma2, self._omega
        # The one sequential step: each variance depends on the previous shock.
        for i, coef in enumerate((BETA + ALPHA * z * z).tolist()):
            sigma2[i] = s2
            s2 = omega + s2 * coef
        sigma = np.sqrt(sigma2)
        returns = sigma * z
        log_close = state.log_price + np.cumsum(returns)
        log_open = np.concatenate(([state.log_price], log_close[:-1]))
        close_raw = np.exp(log_close)
        open_raw = np.exp(log_open)
        high_raw = np.maximum(open_raw, close_raw) * np.exp(0.5 * sigma * wick_up)
        low_raw = np.minimum(open_raw, close_raw) * np.exp(-0.5 * sigma * wick_down)
        surprise = np.abs(returns) / math.sqrt(self._var)
        notional = MINUTE_NOTIONAL * (self._tf_ms / 60_000) * (0.3 + 0.7 * surprise)
        volume = notional / self._start_price * np.exp(0.3 * volume_noise)

        first = state.block * BLOCK
        ts = self._start_ms + (first + np.arange(BLOCK, dtype=np.int64)) * self._tf_ms
        self.state = _State(block=state.block + 1, sigma2=s2, log_price=float(log_close[-1]))
        return _Block(
            ts=ts,
            open=self._round(open_raw),
            high=self._round(high_raw),
            low=self._round(low_raw),
            close=self._round(close_raw),
            volume=np.maximum(np.round(volume, 6), 1e-6),
        )


class SyntheticFeed:
    """Deterministic synthetic candles for one or more symbols on a common time grid."""

    def __init__(
        self,
        symbols: Sequence[str],
        seed: int = 7,
        timeframe: str = "1m",
        start_ms: int = DEFAULT_START_MS,
        start_prices: dict[str, float] | None = None,
    ) -> None:
        if isinstance(symbols, str):
            symbols = [symbols]
        if not symbols:
            raise ConfigError("The synthetic feed needs at least one symbol, e.g. BTC/USDT.")
        for symbol in symbols:
            if "/" not in symbol:
                raise ConfigError(
                    f"The symbol {symbol!r} must look like BASE/QUOTE, for example BTC/USDT."
                )
        try:
            self.timeframe_ms = timeframe_ms(timeframe)
        except ValueError as exc:
            raise ConfigError(f"The synthetic feed cannot use the timeframe: {exc}.") from None
        for symbol, price in (start_prices or {}).items():
            if not (math.isfinite(price) and price > 0):
                raise ConfigError(f"The start price of {symbol} must be positive; got {price}.")
        if seed < 0:
            raise ConfigError(f"The synthetic feed's seed must be zero or more; got {seed}.")
        # Candles at one timestamp come out in symbol order, as the replay feed does.
        self.symbols = sorted(set(symbols))
        self.seed = seed
        self.timeframe = timeframe
        self.start_ms = start_ms
        self.start_prices = dict(start_prices or {})

    def _stream(self, symbol: str) -> _Stream:
        if symbol not in self.symbols:
            raise ConfigError(f"The synthetic feed does not carry {symbol}.")
        return _Stream(self, symbol)

    def generate(self, symbol: str, n: int) -> CandleSeries:
        """The first ``n`` candles of ``symbol`` as a series (what ``iter_candles`` yields)."""
        if n < 0:
            raise ValueError(f"cannot generate a negative number of candles ({n})")
        stream = self._stream(symbol)
        blocks = [stream.next_block() for _ in range(-(-n // BLOCK))]

        def column(name: str) -> np.ndarray:
            if not blocks:
                return np.zeros(0)
            return np.concatenate([getattr(b, name) for b in blocks])[:n]

        return CandleSeries(
            symbol=symbol,
            timeframe=self.timeframe,
            timeframe_ms=self.timeframe_ms,
            ts=column("ts").astype(np.int64),
            open=column("open"),
            high=column("high"),
            low=column("low"),
            close=column("close"),
            volume=column("volume"),
        )

    def first_index_after(self, start_after_ts: int | None) -> int:
        if start_after_ts is None or start_after_ts < self.start_ms:
            return 0
        return (start_after_ts - self.start_ms) // self.timeframe_ms + 1

    def iter_candles(self, start_after_ts: int | None = None) -> Iterator[Candle]:
        """Endless candles of every symbol in (time, symbol) order, resuming after a timestamp."""
        first = self.first_index_after(start_after_ts)
        streams = [self._stream(s) for s in self.symbols]
        skip_blocks, offset = divmod(first, BLOCK)
        for stream in streams:
            # Replaying earlier blocks is how the carried volatility and price are recovered.
            for _ in range(skip_blocks):
                stream.next_block()
        tf_ms = self.timeframe_ms
        while True:
            rows = []
            for stream in streams:
                b = stream.next_block()
                rows.append(
                    (
                        stream.symbol,
                        b.open.tolist(),
                        b.high.tolist(),
                        b.low.tolist(),
                        b.close.tolist(),
                        b.volume.tolist(),
                    )
                )
                ts = b.ts.tolist()
            for i in range(offset, BLOCK):
                for symbol, o, h, low, c, v in rows:
                    yield Candle(symbol, ts[i], o[i], h[i], low[i], c[i], v[i], tf_ms)
            offset = 0

    async def candles(self, start_after_ts: int | None = None) -> AsyncIterator[Candle]:
        """The same stream for async consumers; yields control every block of candles."""
        for count, candle in enumerate(self.iter_candles(start_after_ts), start=1):
            yield candle
            if count % BLOCK == 0:
                await asyncio.sleep(0)

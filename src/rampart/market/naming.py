"""Symbol and timeframe from a file name, and the timeframe from candle spacing."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import numpy.typing as npt

from rampart.domain.candles import TIMEFRAME_MS
from rampart.domain.errors import DataError

# Freqtrade spot: ETH_BTC-5m.feather, BTC_USDT-1h.json.gz; futures carry the settle currency
# and a candle-type suffix: XRP_USDT_USDT-5m-futures.feather.
_FREQTRADE = re.compile(r"^(?P<base>[A-Za-z0-9]+)_(?P<quote>[A-Za-z0-9]+)-(?P<tf>\d+[smhdwM])$")
_FREQTRADE_FUTURES = re.compile(
    r"^(?P<base>[A-Za-z0-9]+)_(?P<quote>[A-Za-z0-9]+)_(?P<settle>[A-Za-z0-9]+)"
    r"-(?P<tf>\d+[smhdwM])-(?:futures|mark|index|premiumIndex|funding_rate)$"
)
# Binance public dumps: BTCUSDT-1m-2024-01.csv, BTCUSDT-1m-2024-01-15.csv
_BINANCE = re.compile(r"^(?P<pair>[A-Z0-9]+)-(?P<tf>\d+[smhdwM])-\d{4}-\d{2}(?:-\d{2})?$")
# Longest first, so that BTCFDUSD is not read as BTCFD/USD.
_QUOTES = (
    "FDUSD", "USDT", "USDC", "BUSD", "TUSD", "DAI", "BTC", "ETH", "BNB", "EUR", "TRY", "USD",
)  # fmt: skip

FILE_SUFFIXES = (".json", ".csv", ".txt", ".feather", ".arrow", ".ipc", ".parquet", ".pq", ".gz")


def stem_of(path: Path) -> str:
    """The file name without its data suffixes (``.json.gz`` counts as one)."""
    name = path.name
    while True:
        lowered = name.lower()
        for suffix in FILE_SUFFIXES:
            if lowered.endswith(suffix):
                name = name[: -len(suffix)]
                break
        else:
            return name


def parse_name(path: Path) -> tuple[str | None, str | None]:
    """(symbol, timeframe) read from a Freqtrade- or Binance-style file name, where present."""
    stem = stem_of(path)
    match = _FREQTRADE.match(stem)
    if match:
        return f"{match['base'].upper()}/{match['quote'].upper()}", match["tf"]
    match = _FREQTRADE_FUTURES.match(stem)
    if match:
        base, quote, settle = (match[k].upper() for k in ("base", "quote", "settle"))
        return f"{base}/{quote}:{settle}", match["tf"]
    match = _BINANCE.match(stem)
    if match:
        pair = match["pair"]
        for quote in _QUOTES:
            if pair.endswith(quote) and len(pair) > len(quote):
                return f"{pair[: -len(quote)]}/{quote}", match["tf"]
        return None, match["tf"]
    return None, None


def spot_only(symbol: str, file_name: str) -> None:
    """Refuse a futures symbol (``XRP/USDT:USDT``, read from a Freqtrade futures file name) in
    one sentence: an account refused it with "Unexpected error: ValidationError"."""
    if ":" not in symbol:
        return
    spot = symbol.split(":")[0]
    raise DataError(
        f"{file_name} holds futures candles ({symbol}); Rampart trades spot only, so replay a "
        f"spot file of {spot} instead (Freqtrade names them like "
        f"{spot.replace('/', '_')}-5m.feather)."
    )


def spacing_mode(ts: npt.NDArray[np.int64]) -> int | None:
    """The most common distance between consecutive sorted, unique timestamps."""
    if len(ts) < 2:
        return None
    diffs = np.diff(ts)
    diffs = diffs[diffs > 0]
    if not len(diffs):
        return None
    values, counts = np.unique(diffs, return_counts=True)
    return int(values[int(np.argmax(counts))])


def timeframe_for_ms(ms: int) -> str | None:
    for name, value in TIMEFRAME_MS.items():
        if value == ms:
            return name
    return None


def describe_ms(ms: int) -> str:
    """A duration in words, e.g. '7 minutes' or '90 seconds'."""
    for unit, size in (("day", 86_400_000), ("hour", 3_600_000), ("minute", 60_000)):
        if ms % size == 0:
            n = ms // size
            return f"{n} {unit}{'' if n == 1 else 's'}"
    return f"{ms / 1000:g} seconds"

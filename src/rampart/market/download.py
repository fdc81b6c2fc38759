"""``rampart data download``: fetch candles from an exchange through ccxt and write a file.

Only finished candles are kept (a candle whose close time is after the clock's now is still
forming). Every ccxt failure becomes a ``DataError`` with one sentence; nothing is written
unless the download succeeded.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import ccxt
import numpy as np
import structlog

from rampart.clock import Clock, WallClock, ms_to_datetime
from rampart.domain.candles import TIMEFRAME_MS
from rampart.domain.errors import DataError
from rampart.market.formats import RawCandles
from rampart.market.quality import assess
from rampart.market.series import CandleSeries
from rampart.market.writers import FORMATS, format_for, write_candles

log = structlog.get_logger("rampart.market.download")

DEFAULT_PAGE = 500
MAX_PAGES = 100_000
"""A runaway guard: an exchange that keeps answering the same page must not loop forever."""


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return (text[:157] + "…" if len(text) > 160 else text).rstrip(".")


@contextmanager
def _translated(exchange: str, symbol: str) -> Iterator[None]:
    """Turn ccxt's exceptions into one-sentence ``DataError``s (order matters: subclasses first)."""
    try:
        yield
    except DataError:
        raise
    except ccxt.BadSymbol:
        raise DataError(f"{exchange} has no market called {symbol!r}.") from None
    except (ccxt.RateLimitExceeded, ccxt.DDoSProtection):
        raise DataError(
            f"{exchange} is limiting requests (rate limit); wait a minute and try again."
        ) from None
    except ccxt.NetworkError:
        raise DataError(
            f"Could not reach {exchange}: this machine has no network connection to it."
        ) from None
    except ccxt.AuthenticationError:
        raise DataError(
            f"{exchange} wants API keys even for candles; Rampart downloads only public data."
        ) from None
    except ccxt.NotSupported:
        raise DataError(f"{exchange} does not offer candles through ccxt.") from None
    except ccxt.BaseError as exc:
        raise DataError(f"{exchange} refused the request: {_short(exc)}.") from None


def make_client(exchange: str, timeout_ms: int) -> Any:
    """A ccxt client for public data, or ``DataError`` if ccxt has no such exchange."""
    if exchange not in ccxt.exchanges:
        raise DataError(f"ccxt does not know an exchange called {exchange!r}.")
    return getattr(ccxt, exchange)({"enableRateLimit": True, "timeout": timeout_ms})


def page_limit(client: Any, market: dict[str, Any]) -> int:
    """The most candles one ``fetch_ohlcv`` call returns on this exchange and market type."""
    try:
        features = client.features[market.get("type") or "spot"]
        if "fetchOHLCV" not in features:  # swap and future features are split by settlement
            features = features["linear" if market.get("linear", True) else "inverse"]
        limit = int(features["fetchOHLCV"]["limit"])
    except (AttributeError, KeyError, TypeError, ValueError):
        return DEFAULT_PAGE
    return limit if limit > 0 else DEFAULT_PAGE


def _check_market(client: Any, exchange: str, symbol: str, timeframe: str) -> dict[str, Any]:
    client.load_markets()
    markets = getattr(client, "markets", None) or {}
    if symbol not in markets:
        raise DataError(f"{exchange} has no market called {symbol!r}.")
    has = getattr(client, "has", {}) or {}
    if has.get("fetchOHLCV") is False:
        raise DataError(f"{exchange} does not offer candles through ccxt.")
    offered = getattr(client, "timeframes", None) or {}
    if offered and timeframe not in offered:
        raise DataError(
            f"{exchange} does not offer {timeframe} candles; it offers {', '.join(offered)}."
        )
    return dict(markets[symbol])


def _number(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError, OverflowError):
        return math.nan


def _fetch_all(
    client: Any,
    symbol: str,
    timeframe: str,
    since_ms: int,
    until_ms: int | None,
    now_ms: int,
    limit: int,
    progress: Callable[[int], None] | None,
) -> dict[int, list[float]]:
    """Rows by open time in [since_ms, until_ms) that have closed by now_ms, page by page."""
    tf_ms = TIMEFRAME_MS[timeframe]
    stop = min(until_ms if until_ms is not None else now_ms, now_ms - tf_ms + 1)
    rows: dict[int, list[float]] = {}
    cursor = since_ms
    for _ in range(MAX_PAGES):
        if cursor >= stop:
            break
        newest: float | None = None
        for row in client.fetch_ohlcv(symbol, timeframe, since=cursor, limit=limit) or ():
            if not (isinstance(row, list | tuple) and len(row) >= 6):
                continue
            ts = _number(row[0])
            if not math.isfinite(ts):
                continue
            newest = ts if newest is None else max(newest, ts)
            if since_ms <= ts < stop:
                rows[int(ts)] = [_number(v) for v in row[:6]]
        if newest is None or newest + tf_ms <= cursor:
            break  # nothing more, or an exchange that ignores ``since``
        cursor = int(newest) + tf_ms
        if progress is not None:
            progress(len(rows))
    return rows


def download_ohlcv(
    exchange: str,
    symbol: str,
    timeframe: str,
    since_ms: int,
    until_ms: int | None,
    out: Path,
    fmt: str | None = None,
    *,
    client: Any | None = None,
    clock: Clock | None = None,
    timeout_ms: int = 15_000,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Download finished candles with open time in [since_ms, until_ms) and write ``out``.

    ``fmt`` is json (Freqtrade rows), csv, feather or parquet; by default it follows the
    extension of ``out``. Returns the number of candles written.
    """
    exchange = exchange.strip().lower()
    out = Path(out)
    if timeframe not in TIMEFRAME_MS:
        known = ", ".join(TIMEFRAME_MS)
        raise DataError(f"Rampart does not use the timeframe {timeframe!r}; use one of {known}.")
    if fmt is not None and fmt not in FORMATS:
        raise DataError(f"Cannot write the format {fmt!r}; use one of {', '.join(FORMATS)}.")
    fmt = fmt or format_for(out)
    if until_ms is not None and until_ms <= since_ms:
        raise DataError("The end of the download must come after its start.")
    now_ms = (clock or WallClock()).now_ms()
    if since_ms >= now_ms:
        raise DataError(
            f"The download starts at {ms_to_datetime(since_ms):%Y-%m-%d %H:%M} UTC, "
            "which is not in the past."
        )
    if client is None:
        client = make_client(exchange, timeout_ms)
    with _translated(exchange, symbol):
        market = _check_market(client, exchange, symbol, timeframe)
        limit = page_limit(client, market)
        rows = _fetch_all(client, symbol, timeframe, since_ms, until_ms, now_ms, limit, progress)
    if not rows:
        raise DataError(
            f"{exchange} returned no finished {timeframe} candles for {symbol} from "
            f"{ms_to_datetime(since_ms):%Y-%m-%d %H:%M} UTC."
        )
    matrix = np.array([rows[ts] for ts in sorted(rows)], dtype=np.float64)
    raw = RawCandles(*(np.ascontiguousarray(matrix[:, i]) for i in range(6)), fmt="ccxt rows")
    checked = assess(raw, f"{exchange} {symbol}", symbol, timeframe)
    if checked.report.bad_rows:
        log.warning(
            "dropped bad candles from the exchange",
            exchange=exchange,
            symbol=symbol,
            bad_rows=checked.report.bad_rows,
        )
    if not len(checked.keep):
        raise DataError(f"{exchange} returned only unusable {timeframe} candles for {symbol}.")
    keep = checked.keep
    series = CandleSeries(
        symbol, timeframe, TIMEFRAME_MS[timeframe], checked.ts,
        raw.open[keep], raw.high[keep], raw.low[keep], raw.close[keep], raw.volume[keep],
    )  # fmt: skip
    write_candles(series, out, fmt)
    return len(series)

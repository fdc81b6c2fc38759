"""Loading candle files: read any supported format, apply the stated quality rules, say what was
done.

Rules (never silent; each one that fires adds a sentence to ``LoadResult.repairs``):

- rows with a missing, unreadable or impossible value are dropped;
- rows sharing a timestamp: the last one in the file is kept;
- timestamps out of order are sorted;
- gaps are kept as gaps (never filled) and counted.

Policy ``"strict"`` refuses any of these except gaps; ``"repair"`` refuses a file whose bad
rows exceed 5 %. Unusable files raise ``DataError`` with one sentence naming the file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from rampart.domain.errors import ConfigError, DataError, present
from rampart.market.formats import read_raw
from rampart.market.naming import describe_ms, parse_name, spot_only
from rampart.market.quality import QualityReport, assess, examples, plural
from rampart.market.series import CandleSeries
from rampart.market.stream import StreamedSeries, stream_check
from rampart.market.writers import write_candles

__all__ = [
    "POLICIES",
    "CandleSeries",
    "LoadResult",
    "OpenedCandles",
    "load_candles",
    "open_candles",
    "write_candles",
]

POLICIES = ("repair", "strict")


@dataclass(frozen=True)
class LoadResult:
    series: CandleSeries
    report: QualityReport
    repairs: list[str] = field(default_factory=list)


def repair_sentences(report: QualityReport) -> list[str]:
    """What loading under the repair policy does to this file, one sentence each."""
    done = list(report.notes)
    if report.nan_rows:
        done.append(
            f"Dropped {plural(report.nan_rows, 'row')} with missing or unreadable values"
            f"{examples(report.nan_examples, report.nan_rows)}."
        )
    if report.impossible_rows:
        why = "; ".join(f"{reason}: {n:,}" for reason, n in report.impossible_reasons)
        done.append(
            f"Dropped {plural(report.impossible_rows, 'row')} with impossible values"
            f"{examples(report.impossible_examples, report.impossible_rows)} — {why}."
        )
    if report.duplicates:
        done.append(
            f"Dropped {plural(report.duplicates, 'row')} whose timestamp appeared again later, "
            "keeping the last row for each timestamp."
        )
    if report.non_monotonic:
        were = "was" if report.non_monotonic == 1 else "were"
        done.append(
            f"Sorted the candles: {plural(report.non_monotonic, 'timestamp')} {were} out of order."
        )
    if report.gaps:
        missing = plural(report.missing_candles, "missing candle")
        longest = describe_ms(report.largest_gap_ms)
        done.append(
            f"Kept {plural(report.gaps, 'gap')} ({missing}, the longest {longest}) as gaps: "
            "they were not filled."
        )
    return done


def _accepted(report: QualityReport, shown: str, symbol: str | None, policy: str) -> str:
    """The symbol, once the report shows the file usable under ``policy``; else DataError."""
    refusal = report.refusal()
    if refusal:
        raise DataError(refusal)
    if policy == "strict" and report.needs_repair:
        raise DataError(f"{shown} fails the strict data check: {', '.join(report.problems())}.")
    if symbol is None:
        raise DataError(
            f"Cannot tell which symbol {shown} holds: name the file like BTC_USDT-1m.json "
            "or pass the symbol."
        )
    return symbol


def load_candles(
    path: Path | str,
    symbol: str | None = None,
    timeframe: str | None = None,
    policy: str = "repair",
) -> LoadResult:
    """Load one candle file as a clean series, or raise ``DataError`` saying why not.

    ``symbol`` and ``timeframe`` default to what the Freqtrade-style file name says
    (``ETH_BTC-5m.feather``); the timeframe otherwise comes from the candles' spacing.
    """
    if policy not in POLICIES:
        raise ConfigError(f"The data policy must be 'repair' or 'strict'; got {policy!r}.")
    path = Path(path)
    shown = str(path)
    if symbol is not None and "/" not in symbol:
        raise DataError(f"The symbol {symbol!r} must look like BASE/QUOTE, for example BTC/USDT.")
    raw = read_raw(path)
    named_symbol, named_tf = parse_name(path)
    symbol = symbol or named_symbol
    assessment = assess(raw, shown, symbol, timeframe or named_tf)
    report = assessment.report
    symbol = _accepted(report, shown, symbol, policy)
    timeframe = present(report.timeframe, "the file's timeframe")
    timeframe_ms = present(assessment.timeframe_ms, "the file's timeframe")
    keep = assessment.keep
    series = CandleSeries(
        symbol=symbol,
        timeframe=timeframe,
        timeframe_ms=timeframe_ms,
        ts=assessment.ts,
        open=raw.open[keep],
        high=raw.high[keep],
        low=raw.low[keep],
        close=raw.close[keep],
        volume=raw.volume[keep],
    )
    return LoadResult(series=series, report=report, repairs=repair_sentences(report))


@dataclass(frozen=True)
class OpenedCandles:
    """A checked candle file for one pass or more over its candles (``open_candles``)."""

    series: CandleSeries | StreamedSeries
    report: QualityReport
    repairs: list[str] = field(default_factory=list)


def open_candles(
    path: Path | str,
    symbol: str | None = None,
    timeframe: str | None = None,
    policy: str = "repair",
) -> OpenedCandles:
    """Check one candle file as ``load_candles`` does, without holding it where it can stream.

    An Arrow (feather) file in time order is checked in one pass over its record batches and
    its candles are read again from the file when iterated (``rampart.market.stream``), so
    memory does not grow with its length; any other file is loaded by ``load_candles``. Same
    rules, same report, same candles, same sentences either way.
    """
    if policy not in POLICIES:
        raise ConfigError(f"The data policy must be 'repair' or 'strict'; got {policy!r}.")
    path = Path(path)
    if symbol is not None and "/" not in symbol:
        raise DataError(f"The symbol {symbol!r} must look like BASE/QUOTE, for example BTC/USDT.")
    named_symbol, named_tf = parse_name(path)
    symbol = symbol or named_symbol
    if symbol is not None:
        spot_only(symbol, path.name)
    checked = stream_check(path, str(path), symbol, timeframe or named_tf)
    if checked is None:
        loaded = load_candles(path, symbol, timeframe, policy)
        return OpenedCandles(loaded.series, loaded.report, loaded.repairs)
    report, series = checked
    _accepted(report, str(path), symbol, policy)
    return OpenedCandles(present(series, "the file's candles"), report, repair_sentences(report))

"""Data quality: what is wrong with a candle file, measured without changing it.

``assess`` is the single place where the rules live; the loader repairs exactly what it
finds and ``inspect_file`` (``rampart data inspect``) prints it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from rampart.clock import ms_to_datetime
from rampart.domain.candles import TIMEFRAME_MS, timeframe_ms
from rampart.market.formats import RawCandles, read_raw
from rampart.market.naming import describe_ms, parse_name, spacing_mode, timeframe_for_ms

MAX_BAD_FRACTION = 0.05
"""A file with more bad rows than this is refused rather than repaired."""
EXAMPLES = 5
# Timestamps outside 2000-01-01 .. 2200-01-01 are not market data of this world.
PLAUSIBLE_MIN_MS = 946_684_800_000
PLAUSIBLE_MAX_MS = 7_258_118_400_000

IntArray = npt.NDArray[np.int64]


def plural(n: int, word: str) -> str:
    """'1 row', '2 rows', '1,234 rows'."""
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def _when(ms: int | None) -> str:
    return "—" if ms is None else ms_to_datetime(ms).strftime("%Y-%m-%d %H:%M UTC")


def examples(indices: tuple[int, ...], total: int) -> str:
    """' (rows 3, 17, …, counting from 0)' for a few example row indices, or ''."""
    if not indices:
        return ""
    more = ", …" if total > len(indices) else ""
    word = "row" if total == 1 else "rows"
    return f" ({word} {', '.join(str(i) for i in indices)}{more}, counting from 0)"


@dataclass(frozen=True)
class QualityReport:
    """What a candle file holds and what is wrong with it."""

    path: str
    symbol: str | None
    timeframe: str | None
    fmt: str
    rows: int
    """Rows in the file, good and bad."""
    usable_rows: int
    """Rows left after dropping bad rows and duplicates."""
    first_ts: int | None
    last_ts: int | None
    gaps: int
    """Places where one or more candles are missing."""
    missing_candles: int
    largest_gap_ms: int
    """The longest stretch of missing candles, in milliseconds."""
    duplicates: int
    """Rows dropped because a later row has the same timestamp."""
    non_monotonic: int
    """Rows whose timestamp is earlier than the row before them."""
    nan_rows: int
    """Rows with a missing or unreadable value."""
    nan_examples: tuple[int, ...]
    impossible_rows: int
    impossible_examples: tuple[int, ...]
    impossible_reasons: tuple[tuple[str, int], ...]
    flat_candles: int
    """Candles with open = high = low = close: real, but worth knowing about."""
    notes: tuple[str, ...] = ()
    problem: str | None = None
    """Why the file cannot be used at all, whatever the policy (e.g. a timeframe mismatch)."""

    @property
    def bad_rows(self) -> int:
        return self.nan_rows + self.impossible_rows

    @property
    def bad_fraction(self) -> float:
        return self.bad_rows / self.rows if self.rows else 0.0

    @property
    def needs_repair(self) -> bool:
        """True when loading must drop or reorder rows (gaps are not repaired)."""
        return bool(self.bad_rows or self.duplicates or self.non_monotonic)

    @property
    def ok(self) -> bool:
        """Clean: usable as is, nothing to repair and no gaps."""
        return (
            self.problem is None
            and self.usable_rows > 0
            and not self.needs_repair
            and not self.gaps
        )

    def refusal(self) -> str | None:
        """The sentence the loader refuses the file with under the repair policy, if any."""
        if self.problem:
            return self.problem
        if not self.usable_rows:
            return (
                f"{self.path} holds no usable candles: every one of its "
                f"{plural(self.rows, 'row')} has missing or impossible values."
            )
        if self.bad_fraction > MAX_BAD_FRACTION:
            return (
                f"{self.path} has too many bad rows to repair: {self.bad_rows:,} of "
                f"{self.rows:,} ({self.bad_fraction * 100:.1f} %) have missing or impossible "
                f"values, above the {MAX_BAD_FRACTION * 100:g} % limit."
            )
        return None

    def problems(self) -> list[str]:
        """Short phrases for everything except gaps that the strict policy refuses."""
        found = []
        if self.nan_rows:
            found.append(f"{plural(self.nan_rows, 'row')} with missing or unreadable values")
        if self.impossible_rows:
            found.append(f"{plural(self.impossible_rows, 'row')} with impossible values")
        if self.duplicates:
            found.append(f"{plural(self.duplicates, 'duplicate timestamp')}")
        if self.non_monotonic:
            found.append(f"{plural(self.non_monotonic, 'timestamp')} out of order")
        return found

    def lines(self) -> list[tuple[str, str]]:
        """(label, value) pairs for a terminal table."""
        reasons = "; ".join(f"{why}: {n:,}" for why, n in self.impossible_reasons)
        flat_share = (
            f" ({self.flat_candles / self.usable_rows * 100:.1f} %)" if self.usable_rows else ""
        )
        largest = f", the longest {describe_ms(self.largest_gap_ms)}" if self.gaps else ""
        refusal = self.refusal()
        if refusal:
            verdict = f"refused: {refusal}"
        elif self.needs_repair:
            verdict = "loads after repair: " + ", ".join(self.problems()) + " dropped or sorted"
        else:
            verdict = "loads as is" + (" (gaps stay gaps)" if self.gaps else "")
        rows = [
            ("file", self.path),
            ("format", self.fmt),
            ("symbol", self.symbol or "unknown (not in the file name)"),
            ("timeframe", self.timeframe or "unknown"),
            ("rows", f"{self.rows:,}"),
            ("usable rows", f"{self.usable_rows:,}"),
            ("from", _when(self.first_ts)),
            ("to", _when(self.last_ts)),
            ("gaps", f"{self.gaps:,} ({plural(self.missing_candles, 'missing candle')}{largest})"),
            ("duplicate timestamps", f"{self.duplicates:,}"),
            ("out of order", f"{self.non_monotonic:,}"),
            (
                "missing or unreadable values",
                f"{self.nan_rows:,}{examples(self.nan_examples, self.nan_rows)}",
            ),
            (
                "impossible values",
                f"{self.impossible_rows:,}"
                f"{examples(self.impossible_examples, self.impossible_rows)}"
                + (f" — {reasons}" if reasons else ""),
            ),
            ("flat candles", f"{self.flat_candles:,}{flat_share}"),
        ]
        rows.extend(("note", note) for note in self.notes)
        rows.append(("when loaded", verdict))
        return rows


@dataclass(frozen=True)
class Assessment:
    """A report plus what the repair policy would keep: ``keep`` indexes the raw rows."""

    report: QualityReport
    keep: IntArray
    ts: IntArray
    timeframe_ms: int | None


def _impossible(raw: RawCandles, finite: npt.NDArray[np.bool_]) -> dict[str, npt.NDArray[np.bool_]]:
    ts, o, h, low, c, v = raw.ts, raw.open, raw.high, raw.low, raw.close, raw.volume
    with np.errstate(invalid="ignore"):
        reasons = {
            "timestamp outside 2000–2200": (ts < PLAUSIBLE_MIN_MS) | (ts >= PLAUSIBLE_MAX_MS),
            "price not positive": (o <= 0) | (h <= 0) | (low <= 0) | (c <= 0),
            "negative volume": v < 0,
            "high below low": h < low,
            "open or close outside the high–low range": (o > h) | (o < low) | (c > h) | (c < low),
        }
    return {why: mask & finite for why, mask in reasons.items()}


def resolve_timeframe(
    shown: str, timeframe: str | None, mode: int | None
) -> tuple[str | None, int | None, str | None]:
    """(timeframe, timeframe_ms, problem) from the declared timeframe and the data's spacing."""
    known = ", ".join(TIMEFRAME_MS)
    if timeframe is not None:
        try:
            tf_ms = timeframe_ms(timeframe)
        except ValueError:
            return (
                timeframe,
                None,
                (
                    f"{shown} has the timeframe {timeframe!r}, which Rampart does not know; "
                    f"use one of {known}."
                ),
            )
        if mode is not None and (mode < tf_ms or mode % tf_ms):
            return (
                timeframe,
                tf_ms,
                (
                    f"{shown} should hold {timeframe} candles but most of its candles are "
                    f"{describe_ms(mode)} apart."
                ),
            )
        return timeframe, tf_ms, None
    if mode is None:
        return (
            None,
            None,
            (
                f"{shown} holds a single candle, so its timeframe cannot be told from the data; "
                "name the file like BTC_USDT-1m.json or pass the timeframe."
            ),
        )
    found = timeframe_for_ms(mode)
    if found is None:
        return (
            None,
            None,
            (
                f"{shown} has candles {describe_ms(mode)} apart, which is not a timeframe "
                f"Rampart knows ({known})."
            ),
        )
    return found, mode, None


def assess(
    raw: RawCandles, shown: str, symbol: str | None = None, timeframe: str | None = None
) -> Assessment:
    """Measure every data-quality rule on raw rows; change nothing."""
    n = len(raw)
    stacked = np.column_stack([raw.ts, raw.open, raw.high, raw.low, raw.close, raw.volume])
    finite = np.isfinite(stacked).all(axis=1) if n else np.zeros(0, dtype=bool)
    reasons = _impossible(raw, finite)
    impossible = np.zeros(n, dtype=bool)
    for mask in reasons.values():
        impossible |= mask
    valid_idx = np.flatnonzero(finite & ~impossible)
    valid_ts = raw.ts[valid_idx].astype(np.int64)
    non_monotonic = int(np.count_nonzero(np.diff(valid_ts) < 0))
    order = np.argsort(valid_ts, kind="stable")
    sorted_ts = valid_ts[order]
    # After a stable sort the last row of each equal-timestamp run is the last in the file.
    last_of_run = np.ones(len(sorted_ts), dtype=bool)
    last_of_run[:-1] = sorted_ts[1:] != sorted_ts[:-1]
    keep = valid_idx[order][last_of_run]
    ts = sorted_ts[last_of_run]

    tf, tf_ms, problem = resolve_timeframe(shown, timeframe, spacing_mode(ts))
    gaps = missing = largest = 0
    if tf_ms is not None and len(ts) > 1:
        diffs = np.diff(ts)
        over = diffs[diffs > tf_ms]
        gaps = len(over)
        missing = int(np.sum(over // tf_ms - 1)) if gaps else 0
        largest = int(over.max()) - tf_ms if gaps else 0
    o, h, low, c = (raw.open[keep], raw.high[keep], raw.low[keep], raw.close[keep])
    flat = int(np.count_nonzero((o == h) & (h == low) & (low == c)))
    nan_idx = np.flatnonzero(~finite)
    bad_idx = np.flatnonzero(impossible)
    report = QualityReport(
        path=shown,
        symbol=symbol,
        timeframe=tf,
        fmt=raw.fmt,
        rows=n,
        usable_rows=len(keep),
        first_ts=int(ts[0]) if len(ts) else None,
        last_ts=int(ts[-1]) if len(ts) else None,
        gaps=gaps,
        missing_candles=missing,
        largest_gap_ms=largest,
        duplicates=len(valid_idx) - len(keep),
        non_monotonic=non_monotonic,
        nan_rows=len(nan_idx),
        nan_examples=tuple(int(i) for i in nan_idx[:EXAMPLES]),
        impossible_rows=len(bad_idx),
        impossible_examples=tuple(int(i) for i in bad_idx[:EXAMPLES]),
        impossible_reasons=tuple(
            (why, int(np.count_nonzero(mask))) for why, mask in reasons.items() if mask.any()
        ),
        flat_candles=flat,
        notes=tuple(raw.notes),
        problem=problem,
    )
    return Assessment(report=report, keep=keep, ts=ts, timeframe_ms=tf_ms)


def inspect_file(
    path: Path | str, symbol: str | None = None, timeframe: str | None = None
) -> QualityReport:
    """Report on a candle file without repairing it; raises ``DataError`` only if unreadable."""
    path = Path(path)
    raw = read_raw(path)
    named_symbol, named_tf = parse_name(path)
    return assess(raw, str(path), symbol or named_symbol, timeframe or named_tf).report

"""Candle files streamed through the loader's checks instead of held.

Loading a 1M-bar file whole would hold the file's bytes, a pandas frame, the raw columns and
the series' copies at once: memory would grow with the file. An Arrow (feather) file is
instead read one record batch at a time, twice or more: a first pass applies every rule
of :mod:`rampart.market.quality` and builds the same report the in-memory check builds (bad
rows counted and dropped, duplicates dropped keeping the last row, gaps counted), and the
replay's pass yields the kept candles batch by batch. The median close that sizes the
instrument's tick is selected exactly by radix passes over the same stream. Memory is then a
few record batches, whatever the file's length.

A file the stream cannot judge exactly as the in-memory check would is handed back (``None``)
to that check: other formats, a compressed or V1 feather, a pandas index stored as a column,
a time column that is not an Arrow timestamp, or timestamps out of order (sorting needs them
all at once).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from itertools import chain, repeat
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from rampart.domain.candles import Candle
from rampart.market.formats import TIME_NAMES, VALUE_NAMES
from rampart.market.quality import (
    EXAMPLES,
    PLAUSIBLE_MAX_MS,
    PLAUSIBLE_MIN_MS,
    QualityReport,
    resolve_timeframe,
)
from rampart.market.series import FloatArray, IntArray

Columns = tuple[IntArray, FloatArray, FloatArray, FloatArray, FloatArray, FloatArray]
"""Kept rows of one batch: ts (open time, ms), open, high, low, close, volume."""

_COLLECT = 1 << 21
"""Median selection collects the remaining candidates once at most this many are left."""
_SLICE_ROWS = 8192
"""Rows of a record batch converted at a time. pandas writes 65,536 rows a batch (another writer
any number): the batch's columns as float64 copies, the kept rows, and the replay's candles'
numbers as Python objects were ~21 MB alive at once, most of a 100k-bar replay's memory above
its imports. Slices of a batch are views of its buffers (no copy)."""
_REASONS = (
    "timestamp outside 2000–2200",
    "price not positive",
    "negative volume",
    "high below low",
    "open or close outside the high–low range",
)


class _OutOfOrder(Exception):
    """Timestamps go backwards: the file must be sorted in memory."""


def _normalise(name: object) -> str:
    return str(name).strip().strip('"').lower().replace(" ", "_")


@dataclass(frozen=True)
class _Layout:
    """Which Arrow columns hold the time and the five values."""

    time: int
    values: tuple[int, ...]


def _layout(path: Path) -> _Layout | None:
    """The columns to stream, or None when only the in-memory reader can read this file."""
    try:
        with path.open("rb") as handle:
            if handle.read(6) != b"ARROW1":
                return None
        import pyarrow as pa
        import pyarrow.ipc as ipc

        with pa.OSFile(str(path)) as source:
            reader = ipc.open_file(source)
            schema = reader.schema
            if reader.num_record_batches == 0:
                return None
    except Exception:  # pyarrow raises many types: the in-memory reader says what is wrong
        return None
    meta = schema.metadata or {}
    if b"pandas" in meta and b'"index_columns": ["' in meta[b"pandas"]:
        return None  # a pandas index stored as a column: the in-memory reader restores it
    first: dict[str, int] = {}
    for i, name in enumerate(schema.names):
        first.setdefault(_normalise(name), i)
    time_name = next((n for n in TIME_NAMES if n in first), None)
    if time_name is None or any(n not in first for n in VALUE_NAMES):
        return None
    time_index = first[time_name]
    if not pa.types.is_timestamp(schema.field(time_index).type):
        return None  # epoch numbers: their unit comes from the whole column's magnitude
    values = tuple(first[n] for n in VALUE_NAMES)
    for i in values:
        kind = schema.field(i).type
        if not (pa.types.is_floating(kind) or pa.types.is_integer(kind)):
            return None
    return _Layout(time_index, values)


_PER_MS = {"ms": 1, "us": 1_000, "ns": 1_000_000}


def _numbers(column: Any, kind: str) -> tuple[npt.NDArray[Any], npt.NDArray[np.bool_] | None]:
    """An Arrow column's values as a numpy view of its data buffer (``kind`` "f", "i" or
    "u"), and where it is null (None when nowhere). Read from the buffers: pyarrow's own
    conversion of a column with nulls or a time zone imports pandas (~60 MB)."""
    width = column.type.bit_width // 8
    buffers = column.buffers()
    start, n = column.offset, len(column)
    values = np.frombuffer(buffers[1], dtype=f"<{kind}{width}", count=start + n)[start:]
    if not column.null_count:
        return values, None
    bits = np.unpackbits(np.frombuffer(buffers[0], dtype=np.uint8), bitorder="little")
    return values, bits[start : start + n] == 0


def _ms(column: Any) -> FloatArray:
    """An Arrow timestamp column as float ms (NaN for nulls), floored to ms as numpy's
    datetime64 conversion (the in-memory reader's) floors it."""
    stored, nulls = _numbers(column, "i")
    unit = column.type.unit
    ms = stored * 1000 if unit == "s" else stored // _PER_MS[unit]
    out: FloatArray = ms.astype(np.float64)
    if nulls is not None:
        out[nulls] = np.nan
    return out


def _floats(column: Any) -> FloatArray:
    import pyarrow as pa

    kind = column.type
    letter = "f" if pa.types.is_floating(kind) else "i" if pa.types.is_signed_integer(kind) else "u"
    values, nulls = _numbers(column, letter)
    out: FloatArray = values.astype(np.float64)  # a copy: the batch's buffer is let go
    if nulls is not None:
        out[nulls] = np.nan
    return out


def _raw_batches(path: Path, layout: _Layout) -> Iterator[list[FloatArray]]:
    """Each record batch, in slices of at most ``_SLICE_ROWS`` rows, as six float64 columns (ts
    in ms), NaN where a value is missing."""
    import pyarrow as pa
    import pyarrow.ipc as ipc

    with pa.OSFile(str(path)) as source:
        reader = ipc.open_file(source)
        for b in range(reader.num_record_batches):
            whole = reader.get_batch(b)
            for start in range(0, whole.num_rows, _SLICE_ROWS):
                batch = whole.slice(start, _SLICE_ROWS)
                columns = [_ms(batch.column(layout.time))]
                columns.extend(_floats(batch.column(i)) for i in layout.values)
                yield columns


@dataclass
class _Tally:
    """What the first pass counts, row by row, for the report."""

    rows: int = 0
    nan_rows: int = 0
    nan_examples: tuple[int, ...] = ()
    impossible_rows: int = 0
    impossible_examples: tuple[int, ...] = ()
    duplicates: int = 0
    usable: int = 0
    flat: int = 0
    reasons: tuple[tuple[str, int], ...] = ()


def _kept(path: Path, layout: _Layout, tally: _Tally | None = None) -> Iterator[Columns]:
    """The rows the repair policy keeps, batch by batch: bad rows dropped and, of rows that
    share a timestamp, the last. Raises _OutOfOrder on a timestamp earlier than the last."""
    reasons = Counter[str]()
    carry: list[npt.NDArray[Any]] | None = None  # the last valid row, until the next is seen
    last_valid = -(2**63)
    offset = 0
    for raw in _raw_batches(path, layout):
        ts, o, h, low, c, v = raw
        n = len(ts)
        finite = np.isfinite(ts) & np.isfinite(o) & np.isfinite(h)
        finite &= np.isfinite(low) & np.isfinite(c) & np.isfinite(v)
        with np.errstate(invalid="ignore"):
            masks = (
                (ts < PLAUSIBLE_MIN_MS) | (ts >= PLAUSIBLE_MAX_MS),
                (o <= 0) | (h <= 0) | (low <= 0) | (c <= 0),
                v < 0,
                h < low,
                (o > h) | (o < low) | (c > h) | (c < low),
            )
        impossible = np.zeros(n, dtype=bool)
        for why, mask in zip(_REASONS, masks, strict=True):
            mask &= finite
            impossible |= mask
            reasons[why] += int(np.count_nonzero(mask))
        valid = finite & ~impossible
        vts = ts[valid].astype(np.int64)
        if len(vts):
            if vts[0] < last_valid or np.any(np.diff(vts) < 0):
                raise _OutOfOrder
            last_valid = int(vts[-1])
        rows = [vts, o[valid], h[valid], low[valid], c[valid], v[valid]]
        if tally is not None:
            bad = np.flatnonzero(~finite)
            tally.nan_rows += len(bad)
            if len(tally.nan_examples) < EXAMPLES:
                more = tuple(int(i) + offset for i in bad[:EXAMPLES])
                tally.nan_examples = (tally.nan_examples + more)[:EXAMPLES]
            bad = np.flatnonzero(impossible)
            tally.impossible_rows += len(bad)
            if len(tally.impossible_examples) < EXAMPLES:
                more = tuple(int(i) + offset for i in bad[:EXAMPLES])
                tally.impossible_examples = (tally.impossible_examples + more)[:EXAMPLES]
            tally.rows += n
        offset += n
        if carry is not None:
            rows = [np.concatenate((k, r)) for k, r in zip(carry, rows, strict=True)]
        if not len(rows[0]):
            continue
        # Of a run of equal timestamps the last row is kept; the batch's last row waits for
        # the next batch, whose first row may share its timestamp.
        last_of_run = np.ones(len(rows[0]) - 1, dtype=bool)
        last_of_run[:] = rows[0][1:] != rows[0][:-1]
        carry = [r[-1:] for r in rows]
        out = tuple(r[:-1][last_of_run] for r in rows)
        if tally is not None:
            tally.duplicates += int(np.count_nonzero(~last_of_run))
        if len(out[0]):
            yield out  # type: ignore[misc]
    if carry is not None:
        yield tuple(carry)  # type: ignore[misc]
    if tally is not None:
        tally.reasons = tuple((why, n) for why, n in reasons.items() if n)


@dataclass(frozen=True, eq=False)
class StreamedSeries:
    """The kept candles of an Arrow file, read again from the file whenever iterated.

    Offers what the replay uses of :class:`rampart.market.series.CandleSeries`: ``symbol``,
    ``timeframe``, ``timeframe_ms``, ``len()``, ``iter_candles()`` and ``typical_price()``.
    """

    path: Path
    layout: _Layout
    symbol: str
    timeframe: str
    timeframe_ms: int
    count: int

    def __len__(self) -> int:
        return self.count

    def _batches(self) -> Iterator[Columns]:
        return _kept(self.path, self.layout)

    def iter_candles(self) -> Iterator[Candle]:
        # chain() takes each batch's candles from its map in C: no generator frame resumed
        # per bar of the file, only per batch.
        return chain.from_iterable(self._candle_batches())

    def _candle_batches(self) -> Iterator[Iterator[Candle]]:
        symbol, tf_ms = repeat(self.symbol), repeat(self.timeframe_ms)
        for batch in self._batches():
            if len({len(column) for column in batch}) != 1:
                raise ValueError("the columns of a batch differ in length")
            # map() calls Candle straight from C: no tuple per row built by zip and unpacked
            # again by a Python loop, on every bar of the file. The columns' lists are held by
            # the map alone (chain drops it when it is done), so they go before the next slice
            # is read (peak memory).
            yield map(Candle, symbol, *(column.tolist() for column in batch), tf_ms)

    def typical_price(self) -> float:
        """The median close, exactly as ``np.median`` gives it over the kept closes."""
        if not self.count:
            raise ValueError(f"the {self.symbol} series holds no candles, so it has no price")

        def closes() -> Iterator[FloatArray]:
            return (batch[4] for batch in self._batches())

        k = (self.count - 1) // 2
        if self.count % 2:
            a = b = kth_smallest(closes, k)
        else:
            a, b = kth_pair(closes, k)  # both middle closes from the same passes
        return float((np.float64(a) + np.float64(b)) / 2)


def kth_smallest(read: Callable[[], Iterator[FloatArray]], k: int) -> float:
    """The k-th smallest (from 0) of positive finite values streamed by ``read()``, found by
    radix passes over their bit patterns (ordered like the values when positive), 16 bits a
    pass, until few enough candidates are left to hold."""
    return _select(read, k, pair=False)[0]


def kth_pair(read: Callable[[], Iterator[FloatArray]], k: int) -> tuple[float, float]:
    """The k-th and the (k+1)-th smallest, from the passes that find the k-th: the next one
    is almost always among the candidates held at the end (an even count's median needs
    both; a second selection read the file as many times again: ~0.15 s at 1M bars)."""
    return _select(read, k, pair=True)


def _select(read: Callable[[], Iterator[FloatArray]], k: int, *, pair: bool) -> tuple[float, float]:
    rank = k
    prefix, bits, left = 0, 0, -1
    while True:
        if bits == 64:
            found = float(np.array([prefix], dtype=np.uint64).view(np.float64)[0])
            if not pair or k + 1 < left:  # the (k+1)-th has these very bits too
                return found, found
            return found, kth_smallest(read, rank + 1)
        if bits and left <= _COLLECT:
            held = [
                keys[(keys >> np.uint64(64 - bits)) == np.uint64(prefix)]
                for keys in (batch.view(np.uint64) for batch in read())
            ]
            candidates = np.concatenate(held).view(np.float64)
            if not pair:
                value = float(np.partition(candidates, k)[k])
                return value, value
            if k + 1 < len(candidates):
                both = np.partition(candidates, (k, k + 1))
                return float(both[k]), float(both[k + 1])
            # The k-th is the last of its bucket: the next lies in a later one.
            return float(np.partition(candidates, k)[k]), kth_smallest(read, rank + 1)
        counts = np.zeros(1 << 16, dtype=np.int64)
        shift = np.uint64(48 - bits)
        for batch in read():
            keys = batch.view(np.uint64)
            if bits:
                keys = keys[(keys >> np.uint64(64 - bits)) == np.uint64(prefix)]
            digits = ((keys >> shift) & np.uint64(0xFFFF)).astype(np.int64)
            counts += np.bincount(digits, minlength=1 << 16)
        cumulative = np.cumsum(counts)
        digit = int(np.searchsorted(cumulative, k, side="right"))
        if digit:
            k -= int(cumulative[digit - 1])
        left = int(counts[digit])
        prefix, bits = (prefix << 16) | digit, bits + 16


def stream_check(
    path: Path, shown: str, symbol: str | None, timeframe: str | None, fmt: str = "feather table"
) -> tuple[QualityReport, StreamedSeries | None] | None:
    """The file's quality report and its kept candles as a stream, from one pass over it; or
    None when the file must be checked in memory (see the module's docstring)."""
    layout = _layout(path)
    if layout is None:
        return None
    tally = _Tally()
    diffs = Counter[int]()
    flat = usable = 0
    first = last = None
    try:
        for ts, o, h, low, c, _v in _kept(path, layout, tally):
            if last is not None:
                ts_all = np.concatenate(([last], ts))
            else:
                ts_all = ts
                first = int(ts[0])
            steps = np.diff(ts_all)
            values, counts = np.unique(steps, return_counts=True)
            diffs.update(dict(zip(values.tolist(), counts.tolist(), strict=True)))
            flat += int(np.count_nonzero((o == h) & (h == low) & (low == c)))
            usable += len(ts)
            last = int(ts[-1])
    except _OutOfOrder:
        return None
    if not tally.rows:
        return None
    positive = {d: n for d, n in diffs.items() if d > 0}
    # np.unique sorts, and argmax takes the first of equal counts: the smallest such step.
    mode = min(positive, key=lambda d: (-positive[d], d)) if positive else None
    tf, tf_ms, problem = resolve_timeframe(shown, timeframe, mode)
    gaps = missing = largest = 0
    if tf_ms is not None:
        over = {d: n for d, n in diffs.items() if d > tf_ms}
        gaps = sum(over.values())
        missing = sum(n * (d // tf_ms - 1) for d, n in over.items())
        largest = max(over) - tf_ms if over else 0
    report = QualityReport(
        path=shown,
        symbol=symbol,
        timeframe=tf,
        fmt=fmt,
        rows=tally.rows,
        usable_rows=usable,
        first_ts=first,
        last_ts=last,
        gaps=gaps,
        missing_candles=missing,
        largest_gap_ms=largest,
        duplicates=tally.duplicates,
        non_monotonic=0,
        nan_rows=tally.nan_rows,
        nan_examples=tally.nan_examples,
        impossible_rows=tally.impossible_rows,
        impossible_examples=tally.impossible_examples,
        impossible_reasons=tally.reasons,
        flat_candles=flat,
        problem=problem,
    )
    if symbol is None or tf is None or tf_ms is None or problem:
        return report, None
    return report, StreamedSeries(path, layout, symbol, tf, tf_ms, usable)

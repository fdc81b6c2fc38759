"""Reading candle files into raw columns, whatever their format, without judging the rows.

Formats are told apart by content (gzip, Arrow and Parquet magic bytes, JSON or CSV text),
so a file with a misleading extension still reads. Every failure becomes a ``DataError``
with one sentence naming the file; no library traceback leaves this module.

pandas (core) is imported when a table is read, not with this module: the service and the
API import the loaders without reading a file. Feather and Parquet also need pyarrow, which
comes with the ``parquet`` extra.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import math
import re
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from rampart.domain.errors import DataError, present
from rampart.extras import require
from rampart.market.series import FloatArray

if TYPE_CHECKING:
    import pandas as pd

KINDS = "JSON rows, CSV, feather or Parquet"
VALUE_NAMES = ("open", "high", "low", "close", "volume")
TIME_NAMES = ("date", "datetime", "timestamp", "time", "open_time", "opentime", "ts")
# Parentheses, not brackets: terminals that render markup (rich) would swallow "[...]".
ROW_SHAPE = "(timestamp, open, high, low, close, volume)"
_NO_HEADER_LAYOUTS = {6: "ccxt OHLCV CSV", 12: "Binance kline CSV"}
_CSV_FIELDS = re.compile(r"Expected (\d+) fields in line (\d+), saw (\d+)")


@dataclass
class RawCandles:
    """Columns as read. ``ts`` is in UTC milliseconds; NaN marks a value that could not be read."""

    ts: FloatArray
    open: FloatArray
    high: FloatArray
    low: FloatArray
    close: FloatArray
    volume: FloatArray
    fmt: str
    notes: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.ts)


def empty_error(shown: str) -> DataError:
    return DataError(f"{shown} is empty: it holds no candles.")


def read_raw(path: Path) -> RawCandles:
    """Read any supported candle file into raw columns, or raise ``DataError``."""
    shown = str(path)
    if not path.exists():
        raise DataError(f"{shown} does not exist.")
    if path.is_dir():
        raise DataError(f"{shown} is a directory, not a candle file.")
    try:
        data = path.read_bytes()
    except OSError as exc:
        reason = exc.strerror or "the system refused"
        raise DataError(f"{shown} cannot be read: {reason}.") from None
    if not data.strip():
        raise empty_error(shown)
    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error):
            raise DataError(
                f"{shown} is not a readable gzip file: it may be truncated or damaged."
            ) from None
        if not data.strip():
            raise empty_error(shown)
    if data[:6] == b"ARROW1" or data[:4] == b"FEA1":
        return _read_table(data, "feather", shown)
    if data[:4] == b"PAR1":
        return _read_table(data, "Parquet", shown)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = ""
    if not text or "\x00" in text:
        raise DataError(f"{shown} is not a candle file Rampart can read: it is not {KINDS}.")
    head = text.lstrip()[:1]
    if head in ("[", "{"):
        return _read_json(text, shown)
    return _read_csv(text, shown)


# -- timestamps -----------------------------------------------------------------------------


def epoch_to_ms(values: FloatArray) -> tuple[FloatArray, str | None]:
    """Epoch numbers in s, ms, µs or ns, told apart by magnitude, as float milliseconds."""
    sane = np.abs(values[np.isfinite(values) & (values != 0)])
    if not len(sane):
        return values, None
    magnitude = float(np.median(sane))
    # Present-day epochs: ~1.7e9 s, ~1.7e12 ms, ~1.7e15 µs, ~1.7e18 ns.
    if magnitude < 1e11:
        factor, unit = 1000.0, "seconds"
    elif magnitude < 1e14:
        return np.floor(values), None
    elif magnitude < 1e17:
        factor, unit = 1e-3, "microseconds"
    else:
        factor, unit = 1e-6, "nanoseconds"
    note = f"Read the timestamps as {unit} and converted them to milliseconds."
    return np.floor(values * factor), note


def datetimes_to_ms(column: pd.Series) -> FloatArray:
    """A pandas datetime column (naive means UTC) as float milliseconds, NaN for NaT."""
    if getattr(column.dt, "tz", None) is not None:
        column = column.dt.tz_convert("UTC").dt.tz_localize(None)
    stamps = column.to_numpy(dtype="datetime64[ms]")
    out = stamps.astype(np.int64).astype(np.float64)
    out[np.isnat(stamps)] = math.nan
    return out


def _numeric(column: pd.Series) -> FloatArray:
    """A column as float64, NaN wherever a value is not a number."""
    import pandas as pd

    if pd.api.types.is_bool_dtype(column):
        return np.full(len(column), math.nan)
    try:
        numbers = pd.to_numeric(column, errors="coerce")
    except (TypeError, ValueError):  # lists or mappings inside an object column
        return np.array([_number(v) for v in column], dtype=np.float64)
    return numbers.to_numpy(dtype=np.float64, na_value=math.nan)


def _time_column(column: pd.Series) -> tuple[FloatArray, str | None]:
    import pandas as pd

    if pd.api.types.is_datetime64_any_dtype(column):
        return datetimes_to_ms(column), None
    numbers = _numeric(column)
    present = int(column.notna().sum())
    if present and int(np.count_nonzero(~np.isnan(numbers))) * 2 >= present:
        return epoch_to_ms(numbers)
    parsed = pd.to_datetime(column.astype(str), utc=True, errors="coerce", format="ISO8601")
    return datetimes_to_ms(parsed), None


# -- tables (feather, Parquet, headed CSV) -------------------------------------------------


def _read_table(data: bytes, kind: str, shown: str) -> RawCandles:
    import pandas as pd

    require("parquet", "pyarrow")  # else pandas' ImportError would read as a damaged file
    try:
        if kind == "feather":
            frame = pd.read_feather(io.BytesIO(data))
        else:
            frame = pd.read_parquet(io.BytesIO(data))
    except Exception:  # pyarrow raises many types; all mean the same thing to the user
        raise DataError(
            f"{shown} is not a readable {kind} file: it may be truncated or damaged."
        ) from None
    if isinstance(frame.index, pd.DatetimeIndex):
        frame = frame.reset_index()
    return _from_frame(frame, shown, f"{kind} table")


def _normalise(name: object) -> str:
    return str(name).strip().strip('"').lower().replace(" ", "_")


def _from_frame(frame: pd.DataFrame, shown: str, fmt: str) -> RawCandles:
    frame = frame.rename(columns=_normalise)
    frame = frame.loc[:, ~frame.columns.duplicated()]
    time_name = next((n for n in TIME_NAMES if n in frame.columns), None)
    missing = [n for n in VALUE_NAMES if n not in frame.columns]
    if time_name is None:
        missing.insert(0, "date (or timestamp)")
    if missing:
        raise DataError(
            f"{shown} lacks the column{'s' if len(missing) > 1 else ''} {', '.join(missing)}: "
            "a candle file needs date (or timestamp), open, high, low, close and volume."
        )
    if frame.empty:
        raise empty_error(shown)
    ts, note = _time_column(frame[present(time_name, "the time column")])
    values = [_numeric(frame[n]) for n in VALUE_NAMES]
    return RawCandles(ts, *values, fmt=fmt, notes=[note] if note else [])


# -- JSON rows -------------------------------------------------------------------------------


def _number(value: Any) -> float:
    if isinstance(value, bool) or value is None:
        return math.nan
    if isinstance(value, int | float | str):
        try:
            return float(value)
        except (ValueError, OverflowError):
            return math.nan
    return math.nan


def _rows_matrix(rows: list[Any], text: str, shown: str) -> tuple[FloatArray, int]:
    """An (n, 6) float matrix of the rows, NaN where a row or value is unreadable."""
    if "true" not in text and "false" not in text:  # booleans would silently become 1.0/0.0
        try:
            matrix = np.array(rows, dtype=np.float64)
        except (ValueError, TypeError, OverflowError):
            matrix = None
        if matrix is not None and matrix.ndim == 2 and matrix.shape[1] in (6, 12):
            return np.ascontiguousarray(matrix[:, :6]), matrix.shape[1]
    out = np.full((len(rows), 6), math.nan)
    lengths: dict[int, int] = {}
    for i, row in enumerate(rows):
        if not isinstance(row, list):
            continue
        lengths[len(row)] = lengths.get(len(row), 0) + 1
        if len(row) in (6, 12):
            out[i] = [_number(v) for v in row[:6]]
    if not (lengths.get(6, 0) or lengths.get(12, 0)):
        if not lengths:
            detail = "its items are not rows"
        else:
            common = max(lengths, key=lambda k: lengths[k])
            detail = f"its rows have {common} values"
        raise DataError(
            f"{shown} does not hold candles: {detail}, where candle rows have 6 {ROW_SHAPE}."
        )
    return out, 12 if lengths.get(12, 0) > lengths.get(6, 0) else 6


def _read_json(text: str, shown: str) -> RawCandles:
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DataError(
            f"{shown} is not valid JSON (line {exc.lineno}, column {exc.colno}): "
            "it may be truncated or damaged."
        ) from None
    except RecursionError:
        raise DataError(f"{shown} is not usable JSON: it is nested too deeply.") from None
    if not isinstance(doc, list):
        kind = "an object" if isinstance(doc, dict) else "a single value"
        raise DataError(f"{shown} holds {kind}, not a list of candle rows {ROW_SHAPE}.")
    if not doc:
        raise empty_error(shown)
    matrix, width = _rows_matrix(doc, text, shown)
    ts, note = epoch_to_ms(matrix[:, 0])
    fmt = "Binance kline JSON" if width == 12 else "JSON rows"
    columns = [np.ascontiguousarray(matrix[:, i]) for i in range(1, 6)]
    return RawCandles(ts, *columns, fmt=fmt, notes=[note] if note else [])


# -- CSV -------------------------------------------------------------------------------------


def _looks_like_value(text: str) -> bool:
    text = text.strip().strip('"')
    try:
        float(text)
        return True
    except ValueError:
        pass
    return bool(re.match(r"^\d{4}-\d{2}-\d{2}", text))


def _refuse_cut_row(text: str, shown: str, width: int) -> None:
    """A file cut off while it was written or copied ends mid-row: no final newline, and its
    last line has fewer fields than the first. pandas would read that row with NaN in the
    missing fields and the quality check would drop it as one bad row among many, so the
    file's missing end would pass unnoticed; it is refused instead, as truncated JSON is."""
    if text.endswith(("\n", "\r")):
        return
    # Every line ending pandas knows (a lone \r too): the csv module refuses one inside a row.
    last = text.splitlines()[-1] if text else ""
    found = len(next(csv.reader([last]), []))
    if last.strip() and found < width:
        line = text.count("\n") + 1
        raise DataError(
            f"{shown} is truncated: its last line (line {line:,}) stops mid-row with {found} of "
            f"{width} fields, as a file cut off while it was written or copied does."
        )


def _read_csv(text: str, shown: str) -> RawCandles:
    first = next((line for line in text.splitlines() if line.strip()), "")
    fields = first.split(",")
    if len(fields) < 2:
        raise DataError(f"{shown} is not a candle file Rampart can read: it is not {KINDS}.")
    _refuse_cut_row(text, shown, len(next(csv.reader([first]))))
    header = not _looks_like_value(fields[0])
    import pandas as pd

    try:
        # Let the C parser read numbers (ten times faster than strings); a column with junk
        # in it comes back as text and is coerced, junk to NaN, in _from_frame.
        frame = pd.read_csv(io.StringIO(text), header=0 if header else None, low_memory=False)
    except pd.errors.EmptyDataError:
        raise empty_error(shown) from None
    except pd.errors.ParserError as exc:
        found = _CSV_FIELDS.search(str(exc))
        detail = (
            f"line {found[2]} has {found[3]} fields where {found[1]} were expected"
            if found
            else "its rows cannot be split into fields"
        )
        raise DataError(f"{shown} is not a well-formed CSV file: {detail}.") from None
    except (ValueError, UnicodeError):
        raise DataError(f"{shown} is not a well-formed CSV file.") from None
    if header:
        return _from_frame(frame, shown, "CSV with a header")
    layout = _NO_HEADER_LAYOUTS.get(frame.shape[1])
    if layout is None:
        raise DataError(
            f"{shown} has {frame.shape[1]} columns and no header: Rampart reads 6 "
            "(ccxt: timestamp, open, high, low, close, volume) or 12 (Binance klines)."
        )
    frame = frame.iloc[:, :6]
    frame.columns = ["timestamp", *VALUE_NAMES]
    return _from_frame(frame, shown, layout)

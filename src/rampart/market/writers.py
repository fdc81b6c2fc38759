"""Writing a candle series as Freqtrade JSON rows, ccxt CSV, feather or Parquet.

Files are written to a temporary name and renamed, so a failed write never leaves a
half-written candle file behind for a later load to trip on. JSON and CSV need nothing beyond
the core; feather and Parquet need pandas and pyarrow (the ``parquet`` extra), imported only
when such a file is written.
"""

from __future__ import annotations

import gzip
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING

from rampart.domain.errors import DataError
from rampart.extras import require
from rampart.market.series import CandleSeries

if TYPE_CHECKING:
    import pandas as pd

FORMATS = ("json", "csv", "feather", "parquet")
_BY_SUFFIX = {
    ".json": "json",
    ".csv": "csv",
    ".feather": "feather",
    ".arrow": "feather",
    ".parquet": "parquet",
    ".pq": "parquet",
}
CSV_HEADER = "timestamp,open,high,low,close,volume"


def format_for(path: Path) -> str:
    """The format a file name asks for; ``.json.gz`` and ``.csv.gz`` are gzip-compressed."""
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes.pop()
    fmt = _BY_SUFFIX.get(suffixes[-1]) if suffixes else None
    if fmt is None:
        raise DataError(
            f"Cannot tell which format to write from the name {path}; "
            "use .json, .json.gz, .csv, .feather or .parquet."
        )
    return fmt


def _rows(series: CandleSeries) -> zip[tuple[int, float, float, float, float, float]]:
    return zip(
        series.ts.tolist(),
        series.open.tolist(),
        series.high.tolist(),
        series.low.tolist(),
        series.close.tolist(),
        series.volume.tolist(),
        strict=True,
    )


def _frame(series: CandleSeries) -> pd.DataFrame:
    import pandas as pd

    # Freqtrade stores the open time as datetime64[ns, UTC] in a column named "date".
    dates = pd.to_datetime(series.ts, unit="ms", utc=True).as_unit("ns")
    return pd.DataFrame(
        {
            "date": dates,
            "open": series.open,
            "high": series.high,
            "low": series.low,
            "close": series.close,
            "volume": series.volume,
        }
    )


def _text(series: CandleSeries, fmt: str) -> str:
    if fmt == "json":
        return json.dumps([list(row) for row in _rows(series)], separators=(",", ":"))
    # str() of a float is its shortest round-trip form, so values read back exactly.
    lines = [CSV_HEADER]
    lines.extend(",".join(str(v) for v in row) for row in _rows(series))
    return "\n".join(lines) + "\n"


def write_candles(series: CandleSeries, path: Path | str, fmt: str | None = None) -> Path:
    """Write ``series`` to ``path`` in ``fmt`` (default: from the extension); returns the path."""
    path = Path(path)
    fmt = fmt or format_for(path)
    if fmt not in FORMATS:
        raise DataError(f"Cannot write the format {fmt!r}; use one of {', '.join(FORMATS)}.")
    compress = path.suffix.lower() == ".gz"
    if compress and fmt not in ("json", "csv"):
        raise DataError(f"Cannot write {path}: only JSON and CSV files can be gzip-compressed.")
    if fmt in ("feather", "parquet"):
        require("parquet", "pyarrow")
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if fmt in ("json", "csv"):
            data = _text(series, fmt).encode()
            tmp.write_bytes(gzip.compress(data) if compress else data)
        elif fmt == "feather":
            _frame(series).to_feather(tmp)
        else:
            _frame(series).to_parquet(tmp, index=False)
        os.replace(tmp, path)
    except OSError as exc:
        raise DataError(f"Cannot write {path}: {exc.strerror or exc}.") from None
    finally:
        tmp.unlink(missing_ok=True)
    return path

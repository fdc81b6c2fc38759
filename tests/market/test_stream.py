"""Feather files streamed through the loader's checks come out exactly as the
in-memory loader loads them: the same report, sentences, candles and typical price."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.feather as feather
import pytest

from rampart.market import stream
from rampart.market.loaders import load_candles, open_candles
from rampart.market.series import CandleSeries
from rampart.market.stream import StreamedSeries, kth_pair, kth_smallest

START = 1_704_067_200_000


def _write(path: Path, ts: list[int | None], close: list[float | None], batch: int = 4) -> Path:
    n = len(ts)
    price = [c if c is not None else None for c in close]
    table = pa.table(
        {
            "date": pa.array(ts, type=pa.timestamp("ms", tz="UTC")),
            "open": pa.array(price, type=pa.float64()),
            "high": pa.array([None if c is None else c + 1 for c in close], type=pa.float64()),
            "low": pa.array([None if c is None else c - 1 for c in close], type=pa.float64()),
            "close": pa.array(price, type=pa.float64()),
            "volume": pa.array([1.0] * n, type=pa.float64()),
        }
    )
    feather.write_feather(table, path, compression="uncompressed", chunksize=batch)
    return path


def _same(path: Path) -> StreamedSeries:
    held = load_candles(path)
    opened = open_candles(path)
    assert isinstance(opened.series, StreamedSeries)
    assert opened.report == held.report
    assert opened.repairs == held.repairs
    assert list(opened.series.iter_candles()) == list(held.series.iter_candles())
    assert len(opened.series) == len(held.series)
    assert opened.series.typical_price() == held.series.typical_price()
    return opened.series


def test_a_messy_file_streams_to_what_the_in_memory_loader_loads(tmp_path: Path) -> None:
    minute = 60_000
    ts: list[int | None] = [START + i * minute for i in range(80)]
    close: list[float | None] = [100.0 + (i % 5) for i in range(80)]
    ts[3] = ts[4]  # a duplicate inside a batch: the later row is kept
    ts[8] = ts[7]  # a duplicate across a batch boundary (batches of 4 rows)
    close[10] = None  # a missing value
    ts[12] = None  # a missing time
    close[14] = -1.0  # an impossible price
    ts[18:] = [t + 3 * minute for t in ts[18:] if t is not None]  # a gap of three candles
    series = _same(_write(tmp_path / "BTC_USDT-1m.feather", ts, close))
    report = open_candles(series.path).report
    assert (report.duplicates, report.nan_rows, report.impossible_rows) == (2, 2, 1)
    assert report.gaps and report.missing_candles >= 3


def test_a_batch_read_in_slices_streams_to_what_the_in_memory_loader_loads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One record batch of 40 rows read 3 rows at a time: duplicates across slices, missing
    values at a slice's offset into the batch's null bitmap, a gap."""
    monkeypatch.setattr(stream, "_SLICE_ROWS", 3)
    minute = 60_000
    ts: list[int | None] = [START + i * minute for i in range(40)]
    close: list[float | None] = [100.0 + (i % 7) for i in range(40)]
    ts[3] = ts[2]  # the slices [0:3] and [3:6]: a duplicate across their boundary
    close[7] = None  # a null at offset 1 of the slice [6:9]
    ts[20] = None
    ts[30:] = [t + 5 * minute for t in ts[30:] if t is not None]
    path = _write(tmp_path / "BTC_USDT-1m.feather", ts, close, batch=40)
    series = _same(path)
    layout = stream._layout(path)
    assert layout is not None
    sizes = [len(columns[0]) for columns in stream._raw_batches(path, layout)]
    assert sizes == [3] * 13 + [1]
    report = open_candles(series.path).report
    assert (report.duplicates, report.nan_rows) == (1, 2)


def test_an_even_count_takes_the_mean_of_the_middle_closes(tmp_path: Path) -> None:
    ts: list[int | None] = [START + i * 300_000 for i in range(10)]
    close: list[float | None] = [1.5 * (i + 1) ** 2 for i in range(10)]
    _same(_write(tmp_path / "ETH_BTC-5m.feather", ts, close, batch=3))


def test_a_file_out_of_order_is_sorted_in_memory(tmp_path: Path) -> None:
    ts: list[int | None] = [START + i * 60_000 for i in range(8)]
    ts[2], ts[5] = ts[5], ts[2]
    path = _write(tmp_path / "BTC_USDT-1m.feather", ts, [100.0 + i for i in range(8)])
    opened = open_candles(path)
    assert isinstance(opened.series, CandleSeries)
    assert opened.report == load_candles(path).report


def test_radix_selection_finds_every_rank(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(stream, "_COLLECT", 3)  # every pass, down to the last 16 bits
    rng = np.random.default_rng(1)
    values = np.concatenate([rng.lognormal(3, 2, 500), np.full(40, 7.25)])
    batches = np.array_split(values, 7)
    ordered = np.sort(values)
    for k in (0, 1, 250, 269, 270, 539):
        assert kth_smallest(lambda: iter(batches), k) == ordered[k]


@pytest.mark.parametrize("collect", [3, 1 << 21])
def test_the_pair_selection_gives_both_neighbours_at_every_rank(
    monkeypatch: pytest.MonkeyPatch, collect: int
) -> None:
    # 3: every pass down to the last 16 bits (the run of equal values ends inside the pass);
    # the default: candidates held after one pass, the (k+1)-th sometimes in the next bucket.
    monkeypatch.setattr(stream, "_COLLECT", collect)
    rng = np.random.default_rng(2)
    values = np.concatenate([rng.lognormal(3, 2, 300), np.full(25, 7.25), [1.0, 2.0, 4.0]])
    batches = np.array_split(values, 5)
    ordered = np.sort(values)
    for k in range(len(values) - 1):
        assert kth_pair(lambda: iter(batches), k) == (ordered[k], ordered[k + 1]), k

"""The data-quality rules: each problem is reported by inspect, repaired as stated, or refused."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from market_helpers import MINUTE, T0, assert_clean, assert_one_sentence, make_series, rows_of

from rampart.domain.errors import DataError
from rampart.market.loaders import load_candles, write_candles
from rampart.market.quality import inspect_file


def _messy_rows() -> list[list[float]]:
    """48 rows with one of each problem; 2 bad rows is 4.2 %, under the 5 % limit."""
    rows = rows_of(make_series(60))
    at = {i: row for i, row in enumerate(rows)}

    def minute(k: int, row: list[float]) -> list[float]:
        return [T0 + k * MINUTE, *row[1:]]

    dup = minute(2, at[4])
    messy = [
        minute(0, at[0]),
        minute(1, at[1]),
        minute(3, at[3]),  # before minute 2: out of order
        minute(2, at[2]),
        dup,  # same minute as the row before: the later row wins
        [T0 + 4 * MINUTE, at[5][1], at[5][2], at[5][3], math.nan, at[5][5]],  # NaN close
        [T0 + 5 * MINUTE, at[6][1], at[6][3], at[6][2], at[6][4], at[6][5]],  # high < low
    ]
    # minutes 4..7 end up missing: one gap of four candles, then a clean run.
    messy.extend(minute(k, at[k]) for k in range(8, 49))
    return messy


def _write_rows(path: Path, rows: list[list[float]]) -> Path:
    path.write_text(json.dumps(rows))  # NaN is written as the JSON token NaN
    return path


def test_inspect_reports_every_problem_without_changing_the_file(tmp_path: Path) -> None:
    path = _write_rows(tmp_path / "ETH_BTC-1m.json", _messy_rows())
    before = (path.read_bytes(), path.stat().st_mtime_ns)
    report = inspect_file(path)
    assert (path.read_bytes(), path.stat().st_mtime_ns) == before
    assert report.rows == 48
    assert report.nan_rows == 1 and report.nan_examples == (5,)
    assert report.impossible_rows == 1 and report.impossible_examples == (6,)
    assert dict(report.impossible_reasons) == {
        "high below low": 1,
        "open or close outside the high–low range": 1,
    }
    assert report.duplicates == 1
    assert report.non_monotonic == 1
    assert report.gaps == 1 and report.missing_candles == 4
    assert report.largest_gap_ms == 4 * MINUTE
    assert report.usable_rows == 45
    assert report.first_ts == T0 and report.last_ts == T0 + 48 * MINUTE
    assert not report.ok and report.needs_repair
    labels = dict(report.lines())
    assert labels["gaps"].startswith("1 (4 missing candles")
    assert labels["missing or unreadable values"] == "1 (row 5, counting from 0)"
    assert labels["when loaded"].startswith("loads after repair")


def test_repair_drops_sorts_dedupes_and_keeps_gaps_saying_so(tmp_path: Path) -> None:
    rows = _messy_rows()
    path = _write_rows(tmp_path / "ETH_BTC-1m.json", rows)
    loaded = load_candles(path)
    series = loaded.series
    assert_clean(series)
    expected_minutes = [0, 1, 2, 3, *range(8, 49)]
    assert series.ts.tolist() == [T0 + k * MINUTE for k in expected_minutes]
    # Minute 2 holds the later of its two rows.
    assert series.close[2] == rows[4][4] != rows[3][4]
    assert series.close[3] == rows[2][4]
    text = " ".join(loaded.repairs)
    assert len(loaded.repairs) == 5
    for needle in ("1 row with missing", "1 row with impossible", "keeping the last",
                   "1 timestamp was out of order", "Kept 1 gap (4 missing candles"):  # fmt: skip
        assert needle in text, needle
    for sentence in loaded.repairs:
        assert_one_sentence(sentence)


def test_strict_refuses_what_repair_would_fix(tmp_path: Path) -> None:
    path = _write_rows(tmp_path / "ETH_BTC-1m.json", _messy_rows())
    with pytest.raises(DataError) as caught:
        load_candles(path, policy="strict")
    assert_one_sentence(caught.value.message, str(path), "strict", "duplicate", "out of order")


def test_strict_accepts_gaps(tmp_path: Path) -> None:
    series = make_series(30)
    keep = np.r_[0:10, 15:30]
    rows = [rows_of(series)[i] for i in keep]
    path = _write_rows(tmp_path / "ETH_BTC-1m.json", rows)
    loaded = load_candles(path, policy="strict")
    assert len(loaded.series) == 25
    assert loaded.report.gaps == 1 and loaded.report.missing_candles == 5
    assert loaded.repairs == [
        "Kept 1 gap (5 missing candles, the longest 5 minutes) as gaps: they were not filled."
    ]


def test_more_than_five_percent_bad_rows_is_refused(tmp_path: Path) -> None:
    rows = rows_of(make_series(19))
    rows[7][2] = -1.0  # one bad row in 19 is 5.3 %
    path = _write_rows(tmp_path / "ETH_BTC-1m.json", rows)
    with pytest.raises(DataError) as caught:
        load_candles(path)
    assert_one_sentence(caught.value.message, str(path), "1 of 19", "5 %")
    report = inspect_file(path)  # inspect still reports it
    assert report.impossible_rows == 1 and report.refusal() == caught.value.message


def test_exactly_five_percent_bad_rows_is_repaired(tmp_path: Path) -> None:
    rows = rows_of(make_series(20))
    rows[7][5] = -3.0  # negative volume: 1 in 20 is exactly 5 %
    loaded = load_candles(_write_rows(tmp_path / "ETH_BTC-1m.json", rows))
    assert len(loaded.series) == 19
    assert dict(loaded.report.impossible_reasons) == {"negative volume": 1}


@pytest.mark.parametrize(
    ("column", "value", "reason"),
    [
        (1, 0.0, "price not positive"),
        (4, -0.5, "price not positive"),
        (1, 10.0, "open or close outside the high–low range"),
        (4, 1e-9, "open or close outside the high–low range"),
        (5, -1.0, "negative volume"),
        (0, 5, "timestamp outside 2000–2200"),
    ],
)
def test_each_impossible_value_is_named(
    tmp_path: Path, column: int, value: float, reason: str
) -> None:
    rows = rows_of(make_series(40))
    rows[11][column] = value
    report = inspect_file(_write_rows(tmp_path / "ETH_BTC-1m.json", rows))
    assert report.impossible_rows == 1
    assert report.impossible_examples == (11,)
    assert reason in dict(report.impossible_reasons)


def test_flat_candles_are_counted_not_dropped(tmp_path: Path) -> None:
    rows = rows_of(make_series(30))
    for i in (3, 4, 20):
        rows[i][1:5] = [rows[i][4]] * 4
    loaded = load_candles(_write_rows(tmp_path / "ETH_BTC-1m.json", rows))
    assert loaded.report.flat_candles == 3
    assert len(loaded.series) == 30


def test_all_rows_bad_is_refused(tmp_path: Path) -> None:
    path = _write_rows(tmp_path / "ETH_BTC-1m.json", [[T0, 1, 0.5, 2, 1, 1]] * 3)
    with pytest.raises(DataError) as caught:
        load_candles(path)
    assert_one_sentence(caught.value.message, str(path), "no usable candles")


def test_a_clean_file_is_ok(tmp_path: Path) -> None:
    path = write_candles(make_series(30), tmp_path / "ETH_BTC-1m.feather")
    report = inspect_file(path)
    assert report.ok and not report.needs_repair and report.problems() == []
    assert dict(report.lines())["when loaded"] == "loads as is"


def test_csv_rows_with_text_or_missing_values_are_dropped(tmp_path: Path) -> None:
    rows = rows_of(make_series(60))
    lines = [",".join(str(v) for v in row) for row in rows]
    lines[10] = lines[10].replace(str(rows[10][2]), "oops")
    lines[20] = lines[20].rsplit(",", 1)[0] + ","  # empty volume
    path = tmp_path / "ETH_BTC-1m.csv"
    path.write_text("\n".join(lines) + "\n")
    loaded = load_candles(path)
    assert loaded.report.nan_rows == 2 and loaded.report.nan_examples == (10, 20)
    assert len(loaded.series) == 58
    assert T0 + 10 * MINUTE not in loaded.series.ts

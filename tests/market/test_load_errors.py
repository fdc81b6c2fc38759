"""Files that cannot be used give one sentence naming the file, never a library traceback."""

from __future__ import annotations

import gzip
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from market_helpers import assert_clean, assert_one_sentence, make_series, rows_of

from rampart.domain.errors import DataError
from rampart.market.loaders import load_candles, write_candles
from rampart.market.quality import MAX_BAD_FRACTION, inspect_file


def _refusal(path: Path) -> str:
    with pytest.raises(DataError) as caught:
        load_candles(path)
    with pytest.raises(DataError) as inspected:
        inspect_file(path)
    assert inspected.value.message == caught.value.message
    return caught.value.message


@pytest.mark.parametrize(
    ("name", "content", "needle"),
    [
        ("ETH_BTC-1m.json", b"", "is empty: it holds no candles"),
        ("ETH_BTC-1m.json", b"  \n\t", "is empty"),
        ("ETH_BTC-1m.json", b"[]", "is empty"),
        ("ETH_BTC-1m.csv", b"timestamp,open,high,low,close,volume\n", "is empty"),
        ("ETH_BTC-1m.json", b"[[1, 2, 3", "is not valid JSON"),
        ("ETH_BTC-1m.json", b"\x00\x01garbage\xff", "is not a candle file Rampart can read"),
        ("ETH_BTC-1m.json", b'{"candles": []}', "holds an object"),
        ("ETH_BTC-1m.json", b"42", "is not a candle file"),
        ("ETH_BTC-1m.json", b'["a", "b"]', "its items are not rows"),
        ("ETH_BTC-1m.json", b"[[1, 2, 3]]", "its rows have 3 values"),
        ("ETH_BTC-1m.json", b"[" * 100_000, "nested too deeply"),
        ("ETH_BTC-1m.csv", b"a,b,c\n1,2,3\n", "lacks the columns date (or timestamp), open"),
        ("ETH_BTC-1m.csv", b"date,open,high,low,close\n", "lacks the column volume"),
        ("ETH_BTC-1m.csv", b"1,2,3\n4,5,6\n", "has 3 columns and no header"),
        ("ETH_BTC-1m.csv", b"1,2,3,4,5,6\n1,2,3,4,5,6,7\n", "line 2 has 7 fields"),
        ("ETH_BTC-1m.csv", b"just some words\n", "is not a candle file"),
        ("ETH_BTC-1m.json.gz", b"\x1f\x8b\x08\x00broken", "is not a readable gzip file"),
        ("ETH_BTC-1m.json.gz", gzip.compress(b"", mtime=0), "is empty"),
        ("ETH_BTC-1m.feather", b"ARROW1\x00\x00not really", "is not a readable feather file"),
        ("ETH_BTC-1m.parquet", b"PAR1\x00\x00not really", "is not a readable Parquet file"),
    ],
)
def test_unusable_content_is_refused_in_one_sentence(
    tmp_path: Path, name: str, content: bytes, needle: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    assert_one_sentence(_refusal(path), str(path), needle)


@pytest.mark.parametrize("name", ["ETH_BTC-1m.feather", "ETH_BTC-1m.parquet", "ETH_BTC-1m.json"])
def test_truncated_files_are_refused(tmp_path: Path, name: str) -> None:
    whole = write_candles(make_series(300), tmp_path / f"whole-{name}").read_bytes()
    path = tmp_path / name
    path.write_bytes(whole[: len(whole) * 2 // 3])
    message = _refusal(path)
    assert_one_sentence(message, str(path))
    assert "truncated" in message


def test_truncated_csv_is_refused_as_the_docs_say(tmp_path: Path) -> None:
    # It used to lose only its last row, as a bad row; docs/operators/data.md says truncated
    # files are refused (tests/market/test_truncated_csv.py has the other readers).
    whole = write_candles(make_series(300), tmp_path / "whole.csv").read_text()
    path = tmp_path / "ETH_BTC-1m.csv"
    path.write_text(whole[: whole.rindex(",")])  # cut inside the last row
    assert_one_sentence(_refusal(path), str(path), "is truncated", "line 301", "5 of 6 fields")


def test_feather_without_the_needed_columns(tmp_path: Path) -> None:
    import pandas as pd

    path = tmp_path / "ETH_BTC-1m.feather"
    pd.DataFrame({"date": pd.to_datetime([0], unit="ms", utc=True), "price": [1.0]}).to_feather(
        path
    )
    assert_one_sentence(_refusal(path), str(path), "lacks the columns open, high, low, close")


def test_missing_file_and_directory(tmp_path: Path) -> None:
    assert_one_sentence(_refusal(tmp_path / "nope.json"), "nope.json", "does not exist")
    assert_one_sentence(_refusal(tmp_path), str(tmp_path), "is a directory")


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their permissions")
def test_unreadable_file(tmp_path: Path) -> None:
    path = write_candles(make_series(5), tmp_path / "ETH_BTC-1m.json")
    path.chmod(0)
    try:
        assert_one_sentence(_refusal(path), str(path), "cannot be read")
    finally:
        path.chmod(0o644)


# -- fuzzing ---------------------------------------------------------------------------------

_JUNK_VALUE = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=8),
    st.sampled_from(["1.5", "NaN", "-inf", "1e400", "0x10"]),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)
_JUNK_ROW = st.one_of(
    _JUNK_VALUE,
    st.lists(_JUNK_VALUE, min_size=0, max_size=13),
    st.lists(_JUNK_VALUE, min_size=6, max_size=6),
)
_GOOD = rows_of(make_series(200))


@st.composite
def _documents(draw: st.DrawFn) -> tuple[str, bool]:
    rows: list[Any] = [list(r) for r in _GOOD[: draw(st.integers(0, 200))]]
    for item in draw(st.lists(_JUNK_ROW, max_size=12)):
        rows.insert(draw(st.integers(0, len(rows))), item)
    for _ in range(draw(st.integers(0, 3))):  # shuffle a few rows
        if len(rows) > 1:
            i, j = draw(st.integers(0, len(rows) - 1)), draw(st.integers(0, len(rows) - 1))
            rows[i], rows[j] = rows[j], rows[i]
    text = json.dumps(rows, allow_nan=True)
    truncated = draw(st.booleans())
    if truncated:
        text = text[: draw(st.integers(0, len(text)))]
    return text, truncated


def _as_number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        return float(value)
    except (ValueError, OverflowError):
        return None


def _candle_rows(text: str) -> set[tuple[float | None, ...]]:
    """Every row of the document that reads as six numbers, as a tuple of floats."""
    found = set()
    for row in json.loads(text):
        if isinstance(row, list) and len(row) in (6, 12):
            found.add(tuple(_as_number(v) for v in row[:6]))
    return found


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_documents())
def test_json_rows_with_junk_give_a_clean_series_or_a_sentence(doc: tuple[str, bool]) -> None:
    text, truncated = doc
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "ETH_BTC-1m.json"
        path.write_text(text)
        try:
            loaded = load_candles(path)
        except DataError as exc:
            assert_one_sentence(exc.message, str(path))
            return
    series, report = loaded.series, loaded.report
    assert_clean(series)
    assert len(series) == report.usable_rows
    assert report.bad_fraction <= MAX_BAD_FRACTION
    assert report.rows == report.usable_rows + report.bad_rows + report.duplicates
    if not truncated:
        # Nothing is invented: every candle is a row of the file, value for value.
        rows = _candle_rows(text)
        for candle in series.iter_candles():
            values = (candle.open, candle.high, candle.low, candle.close, candle.volume)
            assert (float(candle.ts), *values) in rows

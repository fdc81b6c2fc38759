"""Every supported format round-trips: write a series, load it, get the same candles back."""

from __future__ import annotations

import csv
import gzip
import json
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from market_helpers import (
    MINUTE,
    assert_one_sentence,
    assert_same_candles,
    make_series,
    rows_of,
)

from rampart.domain.candles import Candle
from rampart.domain.errors import ConfigError, DataError
from rampart.market.loaders import load_candles, write_candles
from rampart.market.naming import parse_name
from rampart.market.series import CandleSeries


@pytest.mark.parametrize(
    "name", ["ETH_BTC-1m.json", "ETH_BTC-1m.json.gz", "ETH_BTC-1m.csv", "ETH_BTC-1m.csv.gz",
             "ETH_BTC-1m.feather", "ETH_BTC-1m.parquet"],
)  # fmt: skip
def test_write_then_load_gives_the_same_candles(tmp_path: Path, name: str) -> None:
    series = make_series(120)
    path = write_candles(series, tmp_path / name)
    loaded = load_candles(path)
    assert loaded.series.symbol == "ETH/BTC"
    assert loaded.series.timeframe == "1m"
    assert loaded.series.timeframe_ms == MINUTE
    assert_same_candles(loaded.series, series)
    assert loaded.repairs == []
    assert loaded.report.ok


def test_freqtrade_feather_has_the_freqtrade_columns(tmp_path: Path) -> None:
    series = make_series(10)
    frame = pd.read_feather(write_candles(series, tmp_path / "ETH_BTC-1m.feather"))
    assert list(frame.columns) == ["date", "open", "high", "low", "close", "volume"]
    assert str(frame["date"].dtype) == "datetime64[ns, UTC]"
    assert frame["date"].iloc[0] == pd.Timestamp(int(series.ts[0]), unit="ms", tz="UTC")


def test_freqtrade_json_is_rows_of_six_numbers(tmp_path: Path) -> None:
    series = make_series(5)
    doc = json.loads(write_candles(series, tmp_path / "ETH_BTC-1m.json").read_text())
    assert doc == rows_of(series)


def test_ccxt_fetch_ohlcv_rows_as_json(tmp_path: Path) -> None:
    series = make_series(30)
    path = tmp_path / "dump.json"
    path.write_text(json.dumps(rows_of(series)))
    loaded = load_candles(path, symbol="ETH/BTC")
    assert_same_candles(loaded.series, series)
    assert loaded.series.timeframe == "1m"  # from the spacing: the name says nothing


def test_binance_api_kline_json_with_strings(tmp_path: Path) -> None:
    series = make_series(20, timeframe="5m")
    rows = [
        [t, repr(o), repr(h), repr(lo), repr(c), repr(v), t + 299_999, "1.0", 7, "0.5", "0.2", "0"]
        for t, o, h, lo, c, v in rows_of(series)
    ]
    path = tmp_path / "ETHBTC-5m-2023-11.json"
    path.write_text(json.dumps(rows))
    loaded = load_candles(path)
    assert loaded.series.symbol == "ETH/BTC"
    assert loaded.report.fmt == "Binance kline JSON"
    assert_same_candles(loaded.series, series)


def _binance_rows(series: CandleSeries, scale: int) -> list[list[object]]:
    tf = series.timeframe_ms
    return [
        [t * scale, o, h, lo, c, v, (t + tf - 1) * scale, round(c * v, 8), 42, v / 2, 1.5, 0]
        for t, o, h, lo, c, v in rows_of(series)
    ]


@pytest.mark.parametrize(("scale", "unit_note"), [(1, None), (1000, "microseconds")])
def test_binance_kline_csv_in_milliseconds_and_microseconds(
    tmp_path: Path, scale: int, unit_note: str | None
) -> None:
    series = make_series(40, symbol="BTC/USDT", price=42_000.0)
    path = tmp_path / "BTCUSDT-1m-2023-11.csv"
    with path.open("w", newline="") as handle:
        csv.writer(handle).writerows(_binance_rows(series, scale))
    loaded = load_candles(path)
    assert loaded.report.fmt == "Binance kline CSV"
    assert loaded.series.symbol == "BTC/USDT"
    assert_same_candles(loaded.series, series)
    if unit_note:
        assert any(unit_note in line for line in loaded.repairs)
    else:
        assert loaded.repairs == []


def test_binance_kline_csv_with_a_header(tmp_path: Path) -> None:
    series = make_series(15)
    path = tmp_path / "ETH_BTC-1m.csv"
    header = [
        "open_time", "open", "high", "low", "close", "volume", "close_time", "quote_volume",
        "count", "taker_buy_volume", "taker_buy_quote_volume", "ignore",
    ]  # fmt: skip
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(_binance_rows(series, 1))
    assert_same_candles(load_candles(path).series, series)


def test_ccxt_csv_without_header(tmp_path: Path) -> None:
    series = make_series(25)
    path = tmp_path / "ETH_BTC-1m.csv"
    with path.open("w", newline="") as handle:
        csv.writer(handle).writerows(rows_of(series))
    loaded = load_candles(path)
    assert loaded.report.fmt == "ccxt OHLCV CSV"
    assert_same_candles(loaded.series, series)


def test_csv_with_iso_dates(tmp_path: Path) -> None:
    series = make_series(25, timeframe="1h")
    path = tmp_path / "ETH_BTC-1h.csv"
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["Date", "Open", "High", "Low", "Close", "Volume"])
        for t, o, h, lo, c, v in rows_of(series):
            stamp = datetime.fromtimestamp(t / 1000, tz=UTC).isoformat()
            writer.writerow([stamp, o, h, lo, c, v])
    assert_same_candles(load_candles(path).series, series)


def test_parquet_with_a_timestamp_column_in_ms(tmp_path: Path) -> None:
    series = make_series(25)
    frame = pd.DataFrame(rows_of(series), columns=["timestamp", "open", "high", "low", "close",
                                                   "volume"])  # fmt: skip
    path = tmp_path / "ETH_BTC-1m.parquet"
    frame.to_parquet(path)
    assert_same_candles(load_candles(path).series, series)


def test_format_follows_the_content_not_the_extension(tmp_path: Path) -> None:
    series = make_series(20)
    feather = write_candles(series, tmp_path / "a.feather")
    disguised = tmp_path / "ETH_BTC-1m.json"
    disguised.write_bytes(feather.read_bytes())
    loaded = load_candles(disguised)
    assert loaded.report.fmt == "feather table"
    assert_same_candles(loaded.series, series)


def test_arguments_override_the_file_name(tmp_path: Path) -> None:
    series = make_series(20)
    path = write_candles(series, tmp_path / "ETH_BTC-1m.json")
    loaded = load_candles(path, symbol="LTC/BTC", timeframe="1m")
    assert loaded.series.symbol == "LTC/BTC"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("ETH_BTC-5m.feather", ("ETH/BTC", "5m")),
        ("XRP_USDT-5m.feather", ("XRP/USDT", "5m")),
        ("XRP_USDT_USDT-5m-futures.feather", ("XRP/USDT:USDT", "5m")),
        ("btc_usdt-1h.json.gz", ("BTC/USDT", "1h")),
        ("BTCUSDT-1m-2024-01.csv", ("BTC/USDT", "1m")),
        ("SOLFDUSD-15m-2024-01-15.csv", ("SOL/FDUSD", "15m")),
        ("candles.json", (None, None)),
        ("my_BTC_USDT-1m.json", (None, None)),  # three parts without a futures suffix
    ],
)
def test_symbol_and_timeframe_from_the_file_name(
    name: str, expected: tuple[str | None, str | None]
) -> None:
    assert parse_name(Path("/data") / name) == expected


def test_file_without_a_symbol_needs_one(tmp_path: Path) -> None:
    path = write_candles(make_series(10), tmp_path / "candles.json")
    with pytest.raises(DataError) as caught:
        load_candles(path)
    assert_one_sentence(caught.value.message, str(path), "symbol")
    assert load_candles(path, symbol="ETH/BTC").series.symbol == "ETH/BTC"


def test_name_that_disagrees_with_the_spacing_is_refused(tmp_path: Path) -> None:
    path = write_candles(make_series(30, timeframe="1m"), tmp_path / "ETH_BTC-5m.json")
    with pytest.raises(DataError) as caught:
        load_candles(path)
    assert_one_sentence(caught.value.message, str(path), "5m", "1 minute apart")


def test_unknown_spacing_is_refused(tmp_path: Path) -> None:
    rows = rows_of(make_series(10))
    for i, row in enumerate(rows):
        row[0] = rows[0][0] + i * 7 * MINUTE
    path = tmp_path / "odd.json"
    path.write_text(json.dumps(rows))
    with pytest.raises(DataError) as caught:
        load_candles(path, symbol="ETH/BTC")
    assert_one_sentence(caught.value.message, str(path), "7 minutes apart")


def test_bad_policy_and_symbol_arguments_are_refused(tmp_path: Path) -> None:
    path = write_candles(make_series(10), tmp_path / "ETH_BTC-1m.json")
    with pytest.raises(ConfigError) as policy:
        load_candles(path, policy="lenient")
    assert_one_sentence(policy.value.message, "'lenient'")
    with pytest.raises(DataError) as symbol:
        load_candles(path, symbol="ETHBTC")
    assert_one_sentence(symbol.value.message, "'ETHBTC'")


def test_series_iterates_candles_and_resumes_after_a_timestamp() -> None:
    series = make_series(40, timeframe="5m")
    candles = list(series.iter_candles())
    assert len(candles) == len(series) == 40
    assert candles[3] == Candle(
        "ETH/BTC",
        int(series.ts[3]),
        float(series.open[3]),
        float(series.high[3]),
        float(series.low[3]),
        float(series.close[3]),
        float(series.volume[3]),
        300_000,
    )
    resumed = list(series.iter_candles(start_after_ts=candles[9].ts))
    assert resumed == candles[10:]
    between = list(series.iter_candles(start_after_ts=candles[9].ts + 1))
    assert between == candles[10:]
    assert list(series.iter_candles(start_after_ts=candles[-1].ts)) == []
    assert series.typical_price() == float(np.median(series.close))


def test_series_is_read_only_and_does_not_freeze_the_callers_arrays() -> None:
    close = np.array([1.0, 2.0])
    series = CandleSeries("A/B", "1m", MINUTE, np.array([0, MINUTE]), close, close, close,
                          close, close)  # fmt: skip
    with pytest.raises(ValueError, match="read-only"):
        series.close[0] = 5.0
    close[0] = 3.0  # the caller's array stays writable and the series keeps its own copy
    assert close[0] == 3.0
    assert series.close[0] == 1.0
    with pytest.raises(ValueError, match="equally long"):
        CandleSeries("A/B", "1m", MINUTE, np.array([0]), close, close, close, close, close)


def test_gzip_json_written_by_hand(tmp_path: Path) -> None:
    series = make_series(12)
    path = tmp_path / "ETH_BTC-1m.json.gz"
    path.write_bytes(gzip.compress(json.dumps(rows_of(series)).encode()))
    assert_same_candles(load_candles(path).series, series)

"""Downloading through ccxt: paging, writing every format, and one sentence for every failure."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import ccxt
import pytest
from market_helpers import MINUTE, T0, assert_one_sentence, assert_same_candles, make_series

from rampart.clock import SimClock
from rampart.domain.errors import DataError
from rampart.market.download import download_ohlcv
from rampart.market.loaders import load_candles
from rampart.market.series import CandleSeries


class FakeExchange:
    """Answers like a ccxt exchange from a series; records every fetch_ohlcv call."""

    def __init__(self, series: CandleSeries, limit: int = 100) -> None:
        self.rows = [
            [int(t), o, h, lo, c, v]
            for t, o, h, lo, c, v in zip(
                series.ts.tolist(), series.open.tolist(), series.high.tolist(),
                series.low.tolist(), series.close.tolist(), series.volume.tolist(), strict=True,
            )
        ]  # fmt: skip
        self.features = {"spot": {"fetchOHLCV": {"limit": limit}}}
        self.timeframes = {"1m": "1m", "5m": "5m", "1h": "1h"}
        self.has = {"fetchOHLCV": True}
        self.markets: dict[str, Any] = {}
        self.calls: list[tuple[str, str, int, int]] = []
        self.fail_on_call: int | None = None
        self.failure: Exception = ccxt.NetworkError("connection reset")

    def load_markets(self) -> dict[str, Any]:
        self.markets = {"ETH/BTC": {"symbol": "ETH/BTC", "type": "spot"}}
        return self.markets

    def fetch_ohlcv(self, symbol: str, timeframe: str, since: int, limit: int) -> list[list[Any]]:
        self.calls.append((symbol, timeframe, since, limit))
        if self.fail_on_call is not None and len(self.calls) >= self.fail_on_call:
            raise self.failure
        return [list(r) for r in self.rows if r[0] >= since][:limit]


SERIES = make_series(350)
END = T0 + 350 * MINUTE  # the close of the last candle


def _download(fake: Any, out: Path, **kwargs: Any) -> int:
    args: dict[str, Any] = {"until_ms": None, "clock": SimClock(END)}
    args.update(kwargs)
    return download_ohlcv(
        "binance", "ETH/BTC", "1m", T0, args.pop("until_ms"), out, client=fake, **args
    )


def test_pages_through_the_exchange_limit_and_writes_freqtrade_json(tmp_path: Path) -> None:
    fake = FakeExchange(SERIES, limit=100)
    out = tmp_path / "ETH_BTC-1m.json"
    assert _download(fake, out) == 350
    assert [c[2] for c in fake.calls] == [T0, T0 + 100 * MINUTE, T0 + 200 * MINUTE,
                                          T0 + 300 * MINUTE]  # fmt: skip
    assert {c[3] for c in fake.calls} == {100}
    assert_same_candles(load_candles(out, policy="strict").series, SERIES)


@pytest.mark.parametrize("name", ["ETH_BTC-1m.csv", "ETH_BTC-1m.feather", "ETH_BTC-1m.parquet"])
def test_writes_the_format_the_file_name_asks_for(tmp_path: Path, name: str) -> None:
    out = tmp_path / name
    assert _download(FakeExchange(SERIES, limit=1000), out) == 350
    assert_same_candles(load_candles(out).series, SERIES)


def test_explicit_format_wins(tmp_path: Path) -> None:
    out = tmp_path / "ETH_BTC-1m.data"
    _download(FakeExchange(SERIES), out, fmt="csv")
    assert out.read_text().startswith("timestamp,open,high,low,close,volume\n")


def test_stops_at_until_and_drops_the_candle_still_forming(tmp_path: Path) -> None:
    out = tmp_path / "ETH_BTC-1m.json"
    assert _download(FakeExchange(SERIES), out, until_ms=T0 + 120 * MINUTE) == 120
    assert load_candles(out).series.last_ts == T0 + 119 * MINUTE
    # The clock half-way through the last candle: that candle has not closed yet.
    forming = _download(FakeExchange(SERIES), out, clock=SimClock(END - MINUTE // 2))
    assert forming == 349


def test_an_exchange_that_ignores_since_does_not_loop_forever(tmp_path: Path) -> None:
    fake = FakeExchange(SERIES)
    fake.fetch_ohlcv = lambda symbol, timeframe, since, limit: fake.rows[:limit]  # type: ignore
    assert _download(fake, tmp_path / "ETH_BTC-1m.json") == 100


def test_junk_rows_from_the_exchange_are_dropped(tmp_path: Path) -> None:
    fake = FakeExchange(SERIES, limit=1000)
    fake.rows[5] = [fake.rows[5][0], None, None, None, None, None]
    fake.rows[6] = [fake.rows[6][0], 1.0, 0.5, 2.0, 1.0, 1.0]  # high below low
    out = tmp_path / "ETH_BTC-1m.json"
    assert _download(fake, out) == 348
    assert load_candles(out).report.gaps == 1


@pytest.mark.parametrize(
    ("failure", "needle"),
    [
        (ccxt.NetworkError("boom"), "Could not reach binance: this machine has no network"),
        (ccxt.RequestTimeout("slow"), "Could not reach binance"),
        (ccxt.RateLimitExceeded("429"), "rate limit"),
        (ccxt.BadSymbol("binance does not have market symbol ETH/BTC"), "no market called"),
        (ccxt.ExchangeError('binance {"code":-1,"msg":"odd"}\nmore'), "binance refused the"),
    ],
)
def test_ccxt_failures_become_one_sentence_and_write_nothing(
    tmp_path: Path, failure: Exception, needle: str
) -> None:
    fake = FakeExchange(SERIES)
    fake.fail_on_call, fake.failure = 2, failure  # the second page fails
    out = tmp_path / "ETH_BTC-1m.json"
    with pytest.raises(DataError) as caught:
        _download(fake, out)
    assert_one_sentence(caught.value.message, needle)
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("symbol", "timeframe", "needle"),
    [
        ("FOO/BAR", "1m", "binance has no market called 'FOO/BAR'."),
        ("ETH/BTC", "15m", "binance does not offer 15m candles; it offers 1m, 5m, 1h."),
        ("ETH/BTC", "7m", "Rampart does not use the timeframe '7m'"),
    ],
)
def test_unknown_symbol_and_unsupported_timeframe(
    tmp_path: Path, symbol: str, timeframe: str, needle: str
) -> None:
    fake = FakeExchange(SERIES)
    with pytest.raises(DataError) as caught:
        download_ohlcv("binance", symbol, timeframe, T0, None, tmp_path / "x.json",
                       client=fake, clock=SimClock(END))  # fmt: skip
    assert_one_sentence(caught.value.message, needle)
    assert fake.calls == []


def test_no_candles_in_the_range(tmp_path: Path) -> None:
    fake = FakeExchange(SERIES)
    out = tmp_path / "ETH_BTC-1m.json"
    with pytest.raises(DataError) as caught:
        download_ohlcv("binance", "ETH/BTC", "1m", END + MINUTE, None, out, client=fake,
                       clock=SimClock(END + 10 * MINUTE))  # fmt: skip
    assert_one_sentence(caught.value.message, "returned no finished 1m candles")
    assert not out.exists()


def test_bad_ranges_and_formats(tmp_path: Path) -> None:
    fake = FakeExchange(SERIES)
    with pytest.raises(DataError) as backwards:
        _download(fake, tmp_path / "x.json", until_ms=T0 - 1)
    assert_one_sentence(backwards.value.message, "must come after its start")
    with pytest.raises(DataError) as future:
        _download(fake, tmp_path / "x.json", clock=SimClock(T0 - MINUTE))
    assert_one_sentence(future.value.message, "not in the past")
    with pytest.raises(DataError) as fmt:
        _download(fake, tmp_path / "x.xlsx")
    assert_one_sentence(fmt.value.message, "x.xlsx", ".parquet")
    assert fake.calls == []


def test_unknown_exchange() -> None:
    with pytest.raises(DataError) as caught:
        download_ohlcv("foo", "BTC/USDT", "1m", T0, None, Path("x.json"), clock=SimClock(END))
    assert caught.value.message == "ccxt does not know an exchange called 'foo'."


def test_real_binance_offline_fails_fast_in_one_sentence(tmp_path: Path) -> None:
    out = tmp_path / "BTC_USDT-1m.json"
    try:
        written = download_ohlcv(
            "binance", "BTC/USDT", "1m", T0, T0 + 5 * MINUTE, out, timeout_ms=3000
        )
    except DataError as exc:
        assert (
            exc.message == "Could not reach binance: this machine has no network connection to it."
        )
        assert not out.exists()
        return
    pytest.skip(f"this machine reached binance and downloaded {written} candles")

"""A simulator on the wall clock: its tape covers the warm-up window before now and releases a
candle only once it has closed; ``--start`` keeps a fixed-date market for simulated clocks."""

from __future__ import annotations

import time

import pytest
from typer.testing import CliRunner

from rampart.cli.main import app
from rampart.cli.sim import parse_start
from rampart.domain.errors import RampartError
from rampart.market.synthetic import DEFAULT_START_MS
from rampart_testkit.simulator.runner import build_exchange, wall_start_ms
from rampart_testkit.simulator.tape import DEFAULT_HISTORY

MINUTE = 60_000


def test_the_tape_ends_at_the_last_closed_candle_and_keeps_pace() -> None:
    now = time.time_ns() // 1_000_000
    exchange = build_exchange(
        symbols=["BTC/USDT", "ETH/USDT"], start_ms=wall_start_ms(MINUTE, DEFAULT_HISTORY, now)
    )
    exchange.advance_until(now)
    assert now - MINUTE < exchange.now_ms <= now
    assert exchange.tape.steps == DEFAULT_HISTORY
    # What rampart run asks for at start: the last engine.history candles before its now.
    since = (now // MINUTE - 300) * MINUTE
    rows = exchange.tape.klines("BTC/USDT", since, None, 500)
    assert len(rows) == 300 and rows[0].ts == since and rows[-1].close_ts <= now
    # A candle still forming is never released; each one is, once it has closed.
    assert exchange.advance_until(exchange.now_ms + MINUTE - 1) == 0
    assert exchange.advance_until(exchange.now_ms + MINUTE) == 1
    assert exchange.advance_until(exchange.now_ms + 3 * MINUTE) == 3


def test_start_dates_are_utc_on_the_candle_grid() -> None:
    assert parse_start("2024-01-01", "1m") == DEFAULT_START_MS
    assert parse_start("2024-01-01T00:00:59", "1m") == DEFAULT_START_MS
    assert parse_start("2024-01-01T02:00+02:00", "1h") == DEFAULT_START_MS
    with pytest.raises(RampartError, match="--start is a UTC date"):
        parse_start("yesterday", "1m")


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--speed", "60"], "--speed needs --start"),
        (["--start", "soon"], "--start is a UTC date"),
        (["--start", "2024-01-01", "--data", "x.csv"], "a candle file has its own dates"),
        (["--timeframe", "7m"], "cannot use the timeframe"),
    ],
)
def test_bad_combinations_are_one_sentence(args: list[str], says: str) -> None:
    result = CliRunner().invoke(app, ["simulator", "--port", "0", *args])
    assert result.exit_code == 2
    assert says in " ".join(result.output.split())

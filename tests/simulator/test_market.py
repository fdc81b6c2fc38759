"""Public market data through the real ccxt client: markets, time, ticker, candles."""

from __future__ import annotations

import itertools
from decimal import Decimal
from typing import Any

import ccxt.async_support as ccxt_async
import pytest

from rampart.domain.instruments import DEFAULT_INSTRUMENTS
from rampart_testkit.simulator import SimulatorHandle
from tests.simulator.helpers import with_sim


def test_markets_carry_the_instrument_filters() -> None:
    async def body(sim: SimulatorHandle, ex: Any) -> None:
        markets = await ex.load_markets()
        assert set(markets) == {"BTC/USDT", "ETH/USDT"}
        btc = markets["BTC/USDT"]
        inst = DEFAULT_INSTRUMENTS["BTC/USDT"]
        assert btc["id"] == "BTCUSDT" and btc["spot"] and btc["active"]
        assert Decimal(str(btc["precision"]["price"])) == inst.tick_size
        assert Decimal(str(btc["precision"]["amount"])) == inst.lot_size
        assert Decimal(str(btc["limits"]["amount"]["min"])) == inst.min_qty
        assert Decimal(str(btc["limits"]["cost"]["min"])) == inst.min_notional

    with_sim(body, symbols=("BTC/USDT", "ETH/USDT"))


def test_ticker_and_candles_follow_market_time() -> None:
    async def body(sim: SimulatorHandle, ex: Any) -> None:
        first = await ex.fetch_ticker("BTC/USDT")
        assert Decimal(str(first["last"])) == sim.exchange.last_price("BTC/USDT")
        assert await sim.advance(30) == 30
        ticker = await ex.fetch_ticker("BTC/USDT")
        assert Decimal(str(ticker["last"])) == sim.exchange.last_price("BTC/USDT")
        assert ticker["timestamp"] == sim.exchange.now_ms - 1
        candles = await ex.fetch_ohlcv("BTC/USDT", "1m", limit=10)
        assert len(candles) == 10
        assert candles[-1][0] + 60_000 == sim.exchange.now_ms
        assert [b[0] - a[0] for a, b in itertools.pairwise(candles)] == [60_000] * 9
        assert Decimal(str(candles[-1][4])) == sim.exchange.last_price("BTC/USDT")
        since = candles[0][0]
        window = await ex.fetch_ohlcv("BTC/USDT", "1m", since=since, limit=3)
        assert [c[0] for c in window] == [c[0] for c in candles[:3]]
        five = await ex.fetch_ohlcv("BTC/USDT", "5m", limit=3)
        assert all(c[0] % 300_000 == 0 for c in five)
        assert five[-1][4] == candles[-1][4]
        members = [c for c in candles if five[-1][0] <= c[0] < five[-1][0] + 300_000]
        assert five[-1][2] == max(c[2] for c in members)
        assert five[-1][3] == min(c[3] for c in members)
        assert five[-1][1] == members[0][1]

    with_sim(body)


def test_server_time_and_unknown_symbol() -> None:
    async def body(sim: SimulatorHandle, ex: Any) -> None:
        before = sim.context.server_ms()
        assert await ex.fetch_time() >= before
        with pytest.raises(ccxt_async.BadSymbol):
            await ex.publicGetTicker24hr({"symbol": "NOPEUSDT"})
        with pytest.raises(ccxt_async.BadRequest):
            await ex.publicGetKlines({"symbol": "BTCUSDT", "interval": "7m"})

    with_sim(body)


def test_candle_file_feeds_the_market(tmp_path: Any) -> None:
    from rampart.market.synthetic import SyntheticFeed
    from rampart.market.writers import write_candles

    series = SyntheticFeed(["SOL/USDT"], seed=3).generate("SOL/USDT", 50)
    path = tmp_path / "SOL_USDT-1m.csv"
    write_candles(series, path)

    async def body(sim: SimulatorHandle, ex: Any) -> None:
        assert list(ex.markets) == ["SOL/USDT"]
        assert await sim.advance(100) == 49  # the first candle is out at start
        assert sim.exchange.tape.exhausted
        candles = await ex.fetch_ohlcv("SOL/USDT", "1m", limit=1000)
        assert len(candles) == 50
        assert candles[-1][4] == pytest.approx(float(series.close[-1]))

    with_sim(body, symbols=("SOL/USDT",), data=[path])


def test_book_status_and_fees_for_clients_that_ask() -> None:
    async def body(sim: SimulatorHandle, ex: Any) -> None:
        book = await ex.fetch_order_book("BTC/USDT")
        last = float(sim.exchange.last_price("BTC/USDT"))
        assert book["bids"][0][0] < last < book["asks"][0][0]
        assert (await ex.fetch_status())["status"] == "ok"
        fees = await ex.fetch_trading_fees()
        assert fees["BTC/USDT"]["taker"] == pytest.approx(0.001)

    with_sim(body)

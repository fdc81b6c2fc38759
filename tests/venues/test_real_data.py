"""The paper venue on real candles (../shared/data): tiny BTC-quoted prices, real volumes.

A fixed, simple trader buys at market and brackets each position with an OCO. Every fill must
be at a price the bar printed (moved at most by the slippage cap), balances stay consistent
with the fills, and a restart halfway continues identically.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from rampart.clock import SimClock
from rampart.domain.candles import Candle
from rampart.domain.fills import Liquidity
from rampart.domain.instruments import Instrument
from rampart.domain.money import ceil_to_step, dec, floor_to_step
from rampart.domain.orders import Order, OrderRole, OrderType, Side
from rampart.trading.ports import VenueReport
from rampart.venues.paper import PaperVenue

from .helpers import sync

D = Decimal
CAP = D("0.0012")
FILES = [
    ("NXT_BTC-5m.feather", "NXT/BTC", "1"),
    ("ETH_BTC-5m.feather", "ETH/BTC", "1"),
    ("XRP_USDT-5m.feather", "XRP/USDT", "10000"),
]


def load(path: Path, symbol: str, limit: int = 2000) -> list[Candle]:
    frame = pd.read_feather(path).iloc[:limit]
    ms = (frame["date"] - pd.Timestamp(0, tz="UTC")) // pd.Timedelta(milliseconds=1)
    return [
        Candle(symbol, int(t), float(o), float(h), float(lo), float(c), float(v), 300_000)
        for t, o, h, lo, c, v in zip(
            ms,
            frame["open"],
            frame["high"],
            frame["low"],
            frame["close"],
            frame["volume"],
            strict=True,
        )
    ]


class Trader:
    """Every 40 bars with nothing open: buy with 20 % of the cash, then bracket what it holds."""

    def __init__(self, venue: PaperVenue, inst: Instrument) -> None:
        self.venue, self.inst, self.n = venue, inst, 0

    def _order(self, side: Side, kind: OrderType, qty: Decimal, **prices: Decimal) -> Order:
        self.n += 1
        role = OrderRole.ENTRY if side is Side.BUY else OrderRole.EXIT
        return Order(f"c{self.n}", "a", self.inst.symbol, side, kind, qty, role, **prices)

    def step(self, i: int, candle: Candle) -> None:
        if sync(self.venue.fetch_open_orders("a")):
            return
        balances = sync(self.venue.fetch_balances("a"))
        held = balances[self.inst.base].free if self.inst.base in balances else D(0)
        close = dec(candle.close)
        if held >= self.inst.min_qty:
            stop = self.inst.round_price(close * D("0.98"))
            take = self.inst.round_price(close * D("1.03"))
            sync(
                self.venue.submit_oco(
                    self._order(Side.SELL, OrderType.STOP_MARKET, held, stop_price=stop),
                    self._order(Side.SELL, OrderType.LIMIT, held, price=take),
                )
            )
        elif i % 40 == 0:
            cash = balances[self.inst.quote].free
            qty = self.inst.floor_qty(cash * D("0.2") / close)
            sync(self.venue.submit(self._order(Side.BUY, OrderType.MARKET, qty)))


def trade(candles: list[Candle], inst: Instrument, funds: str, split: int | None = None) -> Any:
    clock = SimClock(0)
    venue = PaperVenue({inst.symbol: inst}, clock=clock)
    reports: list[VenueReport] = []
    venue.set_listener(reports.append)
    sync(venue.open_account("a", {inst.quote: D(funds)}))
    trader = Trader(venue, inst)
    for i, candle in enumerate(candles):
        if i == split:
            saved = json.loads(json.dumps(venue.snapshot()))
            venue = PaperVenue.restore(saved, {inst.symbol: inst}, clock=clock)
            venue.set_listener(reports.append)
            trader.venue = venue
        clock.set(candle.close_ts)
        venue.on_candle(candle)
        trader.step(i, candle)
    return venue, reports


@pytest.mark.parametrize(("name", "symbol", "funds"), FILES)
def test_real_candles_fill_inside_the_bars_and_restart_identically(
    shared_data: Path, name: str, symbol: str, funds: str
) -> None:
    candles = load(shared_data / name, symbol)
    closes = sorted(c.close for c in candles)
    inst = Instrument.for_price(symbol, closes[len(closes) // 2])
    venue, reports = trade(candles, inst, funds)

    by_close = {c.close_ts: c for c in candles}
    fills = [r.fill for r in reports if r.fill is not None]
    assert len(fills) >= 20, "the trader should have traded on 2000 real bars"
    assert {r.code for r in reports if r.code} <= {"oco"}  # nothing was rejected
    totals = {inst.quote: D(funds), inst.base: D(0)}
    for fill in fills:
        bar = by_close[fill.ts]
        low, high = dec(bar.low), dec(bar.high)
        assert fill.price % inst.tick_size == 0 and fill.qty % inst.lot_size == 0
        assert fill.fee >= 0
        if fill.liquidity is Liquidity.MAKER:
            assert low <= fill.price <= high
        else:
            assert floor_to_step(low * (1 - CAP), inst.tick_size) <= fill.price
            assert fill.price <= ceil_to_step(high * (1 + CAP), inst.tick_size)
        sign = 1 if fill.side is Side.BUY else -1
        totals[inst.base] += sign * fill.qty
        totals[inst.quote] -= sign * fill.notional + fill.fee
    balances = sync(venue.fetch_balances("a"))
    assert {a: b.total for a, b in balances.items()} == totals
    assert all(b.free >= 0 and b.locked >= 0 for b in balances.values())

    restarted, again = trade(candles, inst, funds, split=len(candles) // 2 + 7)
    assert again == reports
    assert restarted.snapshot() == venue.snapshot()

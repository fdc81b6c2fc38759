"""Shared by the replay session tests: the collector left as found (a replay session freezes
it and changes its thresholds), a seeded walk of 1-minute candles and a session of one trend
account."""

from __future__ import annotations

import gc
import random
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from rampart.clock import SimClock
from rampart.config import AccountConfig, load_settings
from rampart.domain.candles import Candle
from rampart.wiring.instruments import instruments_for
from rampart.wiring.session import TradingSession


@pytest.fixture(autouse=True)
def gc_as_found() -> Iterator[None]:
    threshold = gc.get_threshold()
    yield
    gc.set_threshold(*threshold)
    gc.unfreeze()


def candle_walk(n: int, symbol: str, seed: int = 7) -> list[Candle]:
    """``n`` 1-minute candles from 40,000, each close within about 0.2 % of the last."""
    rng = random.Random(seed)
    price, out = 40_000.0, []
    for i in range(n):
        close = round(price * (1 + rng.gauss(0, 0.002)), 2)
        high = round(max(price, close) * (1 + abs(rng.gauss(0, 0.001))), 2)
        low = round(min(price, close) * (1 - abs(rng.gauss(0, 0.001))), 2)
        out.append(Candle(symbol, i * 60_000, price, high, low, close, 10.0))
        price = close
    return out


def trend_session(
    db: Path, *, checkpoint_every: int, ride_out_outages: bool, name: str = "trend"
) -> TradingSession:
    """A session of one conservative trend account of 1,000 on BTC/USDT, stored in ``db``
    (``ride_out_outages``: as the service runs one; without, as a replay does)."""
    account = AccountConfig(
        id=f"{name}-trend",
        agent="trend",
        profile="conservative",
        capital=Decimal("1000"),
        symbols=["BTC/USDT"],
        owner="test",
    )
    return TradingSession(
        load_settings(),
        SimClock(0),
        instruments_for(["BTC/USDT"]),
        db_url=f"sqlite:///{db}",
        checkpoint_name=name,
        accounts=[account],
        checkpoint_every=checkpoint_every,
        ride_out_outages=ride_out_outages,
    )

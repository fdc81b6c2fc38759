"""What each kind of run keeps of its events: the service's and a replay's store writer take
every order, fill and trade, and each order transition is stored with its chained, hashed audit
entry at the next checkpoint; a research trial's writer takes none, as a trial's store is never
written (no row is built only to be dropped)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from rampart.clock import SimClock
from rampart.config import AccountConfig, load_settings
from rampart.domain.events import TradeClosed
from rampart.domain.instruments import Instrument
from rampart.market.loaders import load_candles
from rampart.research.trial import Span
from rampart.store.writer import StoreWriter
from rampart.wiring.replay import run_replay
from rampart.wiring.session import TradingSession
from tests.research.helpers import SHORT, engine_search

PARAMS = {"fast": 5, "slow": 13}


def _taken(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The name of every event a store writer takes, in order."""
    taken: list[str] = []
    real: Callable[[StoreWriter, type], Callable[[Any], None] | None] = StoreWriter.route

    def route(self: StoreWriter, kind: type) -> Callable[[Any], None] | None:
        handler = real(self, kind)
        if handler is None:
            return None
        inner = handler

        def counted(event: Any) -> None:
            taken.append(type(event).__name__)
            inner(event)

        return counted

    monkeypatch.setattr(StoreWriter, "route", route)
    return taken


def test_a_trial_builds_no_row(shared_data: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    taken = _taken(monkeypatch)
    _, backtest, closes = engine_search(shared_data / SHORT, load_settings(None))
    result = backtest(PARAMS, Span(0, 50, len(closes)))
    assert result.trades > 0
    assert taken == []


def test_a_replay_keeps_every_order_and_fill(
    shared_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    taken = _taken(monkeypatch)
    out = tmp_path / "out"
    result = asyncio.run(
        run_replay(
            shared_data / SHORT, "trend", "moderate", Decimal(1), load_settings(None), out,
            f"sqlite:///{tmp_path}/replay.db", params=PARAMS, chart=False,
        )
    )  # fmt: skip
    assert result.summary.trades > 0
    assert {"OrderUpdated", "FillBooked", "TradeClosed"} <= set(taken)
    assert taken.count("TradeClosed") == result.summary.trades


def _session_trades(data: Path, tmp_path: Path, live: bool) -> tuple[int, int, int]:
    """A paper session of the trend agent over ``data``, as the service runs one (``live``:
    checkpointed, riding outages out) or as a trial does (never checkpointed), closed with a
    checkpoint when live: (trades, order transitions stored, audit entries stored)."""

    series = load_candles(data).series
    instrument = Instrument.for_price(series.symbol, series.typical_price())
    clock = SimClock(0)
    url = f"sqlite:///{tmp_path}/{'live' if live else 'trial'}.db"
    account = AccountConfig(
        id="a1", agent="trend", profile="moderate", capital=Decimal(10_000),
        symbols=[series.symbol], owner="research", params=PARAMS,
    )  # fmt: skip
    session = TradingSession(
        load_settings(None), clock, {series.symbol: instrument}, db_url=url,
        checkpoint_name="kinds", accounts=[account],
        checkpoint_every=50 if live else None, ride_out_outages=live,
    )  # fmt: skip
    trades: list[object] = []

    async def run() -> None:
        await session.open()
        session.bus.subscribe(lambda e: trades.append(e) if isinstance(e, TradeClosed) else None)
        for candle in series.iter_candles():
            clock.set(candle.close_ts)
            await session.process(candle)

    asyncio.run(run())

    session.close()
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        transitions = conn.execute(sa.text("SELECT count(*) FROM order_transitions")).scalar()
        audited = conn.execute(
            sa.text("SELECT count(*) FROM audit_log WHERE action = 'order.transition'")
        ).scalar()
    engine.dispose()
    return len(trades), int(transitions or 0), int(audited or 0)


def test_a_live_session_hashes_every_transition_and_a_trial_writes_none(
    shared_data: Path, tmp_path: Path
) -> None:
    trades, transitions, audited = _session_trades(shared_data / SHORT, tmp_path, live=True)
    assert trades > 0 and transitions > 2 * trades
    assert audited == transitions  # one chained, hashed entry per order transition
    trades, transitions, audited = _session_trades(shared_data / SHORT, tmp_path, live=False)
    assert trades > 0 and (transitions, audited) == (0, 0)


def test_a_trial_builds_no_order_event_nothing_takes(
    shared_data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No store and an agent that hears no fill: an order's changes are not put on a trial's
    bus (no snapshot built for no one); its trades are the same."""
    from rampart.domain.orders import Order
    from rampart.trading.bus import EventBus

    snapshots: list[str] = []
    real = Order.snapshot

    def counted(self: Order) -> Order:
        snapshots.append(self.client_id)
        return real(self)

    _, backtest, closes = engine_search(shared_data / SHORT, load_settings(None))
    span = Span(0, 50, len(closes))
    before = backtest(PARAMS, span)
    monkeypatch.setattr(Order, "snapshot", counted)
    result = backtest(PARAMS, span)
    assert result.trades == before.trades > 0
    assert snapshots == []
    # Were something to take them, they are built: the decision reads the bus.
    monkeypatch.setattr(EventBus, "hears", lambda self, kind: True)
    assert backtest(PARAMS, span).trades == before.trades
    assert snapshots != []

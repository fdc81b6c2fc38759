"""``rampart run`` on the exchange simulator through ccxt while the simulator's klines answer
is spoiled: a zero, a negative and a ×1000 candle reach the service's feed as a
corrupting proxy would serve them. None of them halts the account, trips a breaker, sells the
position or moves its equity; each is quarantined, named by the market-data guard and counted
for MarketDataSuspect. The exchange's own prices (its tape, tickers and fills) stay true.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from rampart.agents import registry
from rampart.domain.accounts import TradingState
from rampart.domain.events import BreakerTripped, Event
from rampart.wiring.service import Service
from rampart_testkit.simulator import start_simulator
from rampart_testkit.soak.agent import ChurnAgent
from tests.test_service_exchange import HISTORY, MINUTE, MarketClock, _settings

SPOIL_AT = {12: "zero", 18: "negative", 24: "x1000"}
"""Candles traded → the variant the next klines answer is spoiled with."""
CANDLES = 32


def test_zero_negative_and_x1000_prints_from_the_exchange_feed_move_no_money(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(registry._AGENTS, "churn", ChurnAgent)
    now = datetime.now(UTC).timestamp() * 1000
    start = (int(now) // MINUTE - HISTORY - 50) * MINUTE
    seen: dict[str, Any] = {"equity": {}, "marks": [], "events": []}

    async def scenario() -> None:
        async with start_simulator(symbols=["BTC/USDT"], start_ms=start) as sim:
            key, secret = sim.create_account({"USDT": "10000"}, account_id="churner")
            await sim.advance(HISTORY)
            settings = _settings(tmp_path, sim.url, key, secret)
            # One entry, held for good, its stop far away: only a bad price could sell it.
            settings.accounts[0].params = {"every": 1, "hold": 100_000, "atr_k": 40.0}
            # The corrupting proxy sits on the REST klines answer (the simulator's bad_candles
            # fault): candles by polling, as a venue without streams serves them. A streamed
            # candle passes the same market-data guard.
            settings.feed.use_websocket = False
            service = Service(
                settings,
                Console(file=(tmp_path / "screen.txt").open("w"), width=160),
                max_candles=CANDLES,
                view=False,
                feed_clock=MarketClock(sim),
                install_signals=False,
            )
            seen["sim"] = sim

            def note(done: int) -> None:
                session = service.exchange_loop.session  # type: ignore[union-attr]
                engine = session.engine
                seen["session"] = session
                if "churner" in engine.accounts:
                    seen["equity"][done] = engine.equity("churner")
                seen["marks"].extend(engine.marks.values())

            async def market() -> None:
                while not service.opened.is_set() or not getattr(
                    service.exchange_loop, "warmed", False
                ):
                    if service.stop.is_set():
                        return
                    await asyncio.sleep(0.005)
                service.exchange_loop.session.bus.subscribe(seen["events"].append)  # type: ignore[union-attr]
                while not service.stop.is_set():
                    done = service.state.processed
                    note(done)
                    await sim.advance(1)
                    # Switched on before the loop runs anything else: the next klines answer
                    # (its newest row the candle just made) is the one spoiled.
                    variant = SPOIL_AT.get(done)
                    if variant is not None:
                        sim.faults.add("bad_candles", variant=variant, count=1)
                    while service.state.processed == done and not service.stop.is_set():
                        await asyncio.sleep(0.005)
                note(service.state.processed)

            await asyncio.gather(service.run(), market())
            seen["metrics"] = service.metrics.registry
            seen["served"] = list(sim.faults.corrupted)

    asyncio.run(scenario())
    session = seen["session"]
    acct = session.engine.accounts["churner"]
    events: list[Event] = seen["events"]
    assert {c.variant for c in seen["served"]} == set(SPOIL_AT.values())
    assert acct.state is TradingState.ACTIVE and not acct.paused
    assert not [e for e in events if isinstance(e, BreakerTripped)]
    assert session.engine.accounts["churner"].ledger.positions, "the held position was sold"
    marks = [float(m) for m in seen["marks"]]
    assert min(marks) > 0 and max(marks) < 2 * min(marks), "a bad print became a mark"
    for done in SPOIL_AT:
        # The spoiled candle is the one the count goes from done to done+1 on.
        before, after = seen["equity"].get(done), seen["equity"].get(done + 1)
        assert before is not None and after is not None and after == before, done
    outcomes = {(q.field, q.outcome) for q in session.prices.listed}
    assert ("open", "dropped") in outcomes  # zero and negative: impossible
    assert ("close", "rejected") in outcomes  # x1000: held, then the market said no
    suspect = [
        s
        for metric in seen["metrics"].collect()
        if metric.name == "rampart_market_data_suspect"
        for s in metric.samples
        if s.name.endswith("_total")
    ]
    assert {s.labels["outcome"] for s in suspect} >= {"dropped", "held"}
    assert all(s.labels["source"] == "ccxt" for s in suspect)
    assert Decimal(0) not in {Decimal(str(m)) for m in marks}

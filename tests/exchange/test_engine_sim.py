"""The engine trading through the ccxt venue against the simulator, UNKNOWN orders included."""

from __future__ import annotations

import asyncio
import random
from decimal import Decimal

import pytest

from rampart.agents.base import AgentView
from rampart.domain.accounts import AccountSpec
from rampart.domain.events import Event, FillBooked, TradeClosed
from rampart.domain.intents import Intent
from rampart.domain.orders import OrderRole, OrderStatus
from rampart.risk.profiles import get_profile
from rampart.trading.bus import EventBus
from rampart.trading.engine import Engine
from rampart.venues.ccxt_venue import CcxtVenue

from ..trading.helpers import ScriptedAgent, long_intent
from .helpers import FAST, SYMBOL, ManualWall, Rig, rig

D = Decimal
ORDER = "/api/v3/order"
TIGHT = {"moderate": {"min_stop": "0.001", "min_rr": "1"}}
"""Synthetic one-minute candles move little: tight brackets make trades close within a test."""


async def _engine(r: Rig, agent: ScriptedAgent) -> tuple[Engine, list[Event]]:
    bus = EventBus()
    events: list[Event] = []
    bus.subscribe(events.append)
    engine = Engine(
        venue=r.venue,
        clock=r.clock,
        bus=bus,
        make_agent=lambda name, params: agent,  # type: ignore[arg-type,return-value]
        profile_for=lambda name: get_profile(name, TIGHT),
        taker_fee=D("0.001"),
    )
    await engine.add_account(AccountSpec("a1", "scripted", "moderate", D("10000"), (SYMBOL,)))
    return engine, events


async def _step(r: Rig, engine: Engine, n: int = 1) -> None:
    for _ in range(n):
        for candle in await r.advance(1):
            await engine.on_candle(candle)


def _enter_at(*indexes: int) -> ScriptedAgent:
    def script(i: int, view: AgentView) -> list[Intent]:
        if i in indexes and view.position is None:
            return [long_intent(view, "0.998", "1.003")]
        return []

    return ScriptedAgent(script)


def _entry(engine: Engine):
    (order,) = [o for o in engine.accounts["a1"].orders.values() if o.role is OrderRole.ENTRY]
    return order


def test_an_unknown_entry_resolves_to_filled_booked_once_and_protected() -> None:
    async def go() -> None:
        async with rig() as r:
            engine, events = await _engine(r, _enter_at(0))
            r.sim.faults.add("lost_response", count=1, paths=[ORDER], methods=["POST"])
            await _step(r, engine)
            acct = engine.accounts["a1"]
            assert _entry(engine).status is OrderStatus.UNKNOWN
            assert SYMBOL not in acct.ledger.positions
            await _step(r, engine)  # poll finds it by client id, filled
            pos = acct.ledger.positions[SYMBOL]
            assert len([e for e in events if isinstance(e, FillBooked)]) == 1
            on_sim = r.sim.exchange.state()["accounts"]["a1"]
            assert (
                D(on_sim["balances"]["BTC"]["free"]) + D(on_sim["balances"]["BTC"]["locked"])
                == pos.qty
            )
            stops = [o for o in on_sim["open_orders"] if o["type"] == "stop_market"]
            # The stop sells what the account holds, in whole lots.
            assert len(stops) == 1 and D(stops[0]["qty"]) == _lots(r, pos.qty)
            assert engine.violations == 0

    asyncio.run(go())


def test_an_unknown_entry_that_never_arrived_is_rejected_and_leaves_no_position() -> None:
    async def go() -> None:
        wall = ManualWall()
        async with rig(grace_s=30, wall=wall) as r:
            engine, events = await _engine(r, _enter_at(0))
            r.sim.faults.add("drop", count=1, paths=[ORDER], methods=["POST"])
            await _step(r, engine)
            acct = engine.accounts["a1"]
            entry = _entry(engine)
            assert entry.status is OrderStatus.UNKNOWN
            wall.advance(5)  # past the exchange's receive window
            await _step(r, engine)  # a minute later: past the grace period, not found
            assert entry.status is OrderStatus.REJECTED and "never arrived" in entry.reason
            assert acct.orders == {} and acct.brackets == {} and acct.ledger.positions == {}
            assert r.sim.exchange.state()["orders"] == 0
            assert acct.ledger.cash == D("10000")

    asyncio.run(go())


def _books_agree(r: Rig, engine: Engine) -> None:
    acct = engine.accounts["a1"]
    on_sim = r.sim.exchange.state()["accounts"]["a1"]
    total = {a: D(b["free"]) + D(b["locked"]) for a, b in on_sim["balances"].items()}
    pos = acct.ledger.positions.get(SYMBOL)
    dust = acct.ledger.dust.get(SYMBOL, D(0))  # less than a lot, written off: still held
    assert total.get("BTC", D(0)) == (pos.qty if pos else D(0)) + dust
    assert total["USDT"] == acct.ledger.cash
    held = {t.client_id for t in r.venue.tracked() if t.local}  # legs kept off the exchange
    local_open = {o.client_id for o in acct.orders.values()} - held
    assert {o["client_id"] for o in on_sim["open_orders"]} == local_open


def _lots(r: Rig, qty: Decimal) -> Decimal:
    return r.venue.instrument(SYMBOL).floor_qty(qty)


def _protected_on_the_exchange(r: Rig, engine: Engine) -> None:
    pos = engine.accounts["a1"].ledger.positions.get(SYMBOL)
    if pos is None or r.venue.bracket_mode == "monitor":
        return  # in monitor mode the engine's position monitor guards the stop
    on_sim = r.sim.exchange.state()["accounts"]["a1"]["open_orders"]
    stops = [o for o in on_sim if o["type"] == "stop_market" and o["side"] == "sell"]
    assert [D(o["qty"]) for o in stops] == [_lots(r, pos.qty)]


@pytest.mark.parametrize("mode", ["oco", "stop", "monitor"])
def test_the_engine_trades_end_to_end_with_every_position_protected(mode: str) -> None:
    async def go() -> None:
        async with rig(bracket_mode=mode) as r:  # type: ignore[arg-type]
            engine, events = await _engine(r, _enter_at(*range(0, 400, 7)))
            for _ in range(400):
                await _step(r, engine)
                _protected_on_the_exchange(r, engine)
                _books_agree(r, engine)
            fills = [e for e in events if isinstance(e, FillBooked)]
            assert len(fills) >= 10 and engine.accounts["a1"].ledger.realized_pnl != 0
            assert engine.violations == 0
            assert len({f.fill.fill_id for f in fills}) == len(fills)
            state = r.sim.exchange.state()
            assert state["fills"] == len(fills)

    asyncio.run(go())


def test_the_engine_survives_mixed_faults_and_the_books_end_equal() -> None:
    async def go() -> None:
        wall = ManualWall()
        async with rig(timeout_ms=400, wall=wall) as r:
            engine, events = await _engine(r, _enter_at(*range(0, 300, 5)))
            faults = r.sim.faults
            for kind in ("drop", "error", "malformed", "truncated"):
                faults.add(kind, probability=0.04)
            faults.add("lost_response", probability=0.15)  # only changes (POST, DELETE)
            faults.add("rate_limit", probability=0.03, retry_after_s=1)
            # Slower than the client waits (each costs its real timeout, so only on creates).
            faults.add("latency", probability=0.05, latency_ms=600, paths=[ORDER], methods=["POST"])
            for _ in range(300):
                await _step(r, engine)
                # A candle is a minute of real time in service: what the exchange held is
                # finished and the receive window of anything sent has passed. Without this a
                # timed-out entry would stay unknown, and block its symbol, for the whole run.
                await r.sim.idle()
                wall.advance(60)
            assert sum(faults.fired.values()) > 20 and faults.fired.get("lost_response", 0) > 0
            faults.clear()
            for _ in range(60):  # clean polls settle what the faults left open
                await _step(r, engine)
                if not r.venue.tracked() or all(not t.unknown for t in r.venue.tracked()):
                    break
                # An unconfirmed order is declared never-arrived only once the exchange's
                # receive window has passed: moved on by hand rather than waited out.
                wall.advance(0.1)
            _books_agree(r, engine)
            _protected_on_the_exchange(r, engine)
            fills = [e for e in events if isinstance(e, FillBooked)]
            assert len({f.fill.fill_id for f in fills}) == len(fills)
            assert r.sim.exchange.state()["fills"] == len(fills)
            unknown = [
                o for o in engine.accounts["a1"].orders.values() if o.status is OrderStatus.UNKNOWN
            ]
            assert unknown == []

    asyncio.run(go())


def test_a_restart_from_the_checkpoint_books_what_filled_while_down() -> None:
    async def go() -> None:
        async with rig() as r:
            engine, _ = await _engine(r, _enter_at(0))
            await _step(r, engine)
            assert SYMBOL in engine.accounts["a1"].ledger.positions
            saved = engine.snapshot()
            assert len(saved["venue"]["tracked"]) == 2  # the OCO legs
            # Rampart stops; the market reaches the stop or the target meanwhile.
            for _ in range(500):
                if not r.sim.exchange.state()["accounts"]["a1"]["open_orders"]:
                    break
                await r.advance(1)
            venue = CcxtVenue(r.venue.clients, clock=r.clock, policy=FAST, rng=random.Random(2))
            await venue.load([SYMBOL])
            r.venue = venue
            restarted, events = await _engine(r, _enter_at())
            restarted.load_snapshot(saved)
            await _step(r, restarted)
            acct = restarted.accounts["a1"]
            assert acct.ledger.positions == {} and acct.orders == {}
            assert len([e for e in events if isinstance(e, TradeClosed)]) == 1
            _books_agree(r, restarted)

    asyncio.run(go())

"""Amend on the exchange: the engine's protection lowers a pair larger than the
holding in place on a venue that amends down (Binance's Order Amend Keep Priority), through
the real ccxt client against the simulator; growth stays cancel-and-replace there, and an amend
that fails falls back to it.

The holding shrinks under a resting pair as reconciliation would book coins that left the
account outside Rampart (here: taken off the simulator's balance and the position alike)."""

from __future__ import annotations

import asyncio
from collections import Counter
from decimal import Decimal

from rampart.domain.orders import OrderRole
from rampart.trading.engine import Engine
from rampart.trading.ports import Amend
from rampart.trading.protection import PROTECTIVE
from rampart_testkit.simulator import routes_amend

from .helpers import SYMBOL, Rig, rig
from .test_engine_sim import _books_agree, _engine, _enter_at, _lots, _step

D = Decimal
AMEND = "/api/v3/order/amend/keepPriority"
ORDER = "/api/v3/order"
NEW_OCO = "/api/v3/orderList/oco"
GONE = D("0.003")


async def _protected(r: Rig) -> tuple[Engine, dict[OrderRole, str]]:
    engine, _ = await _engine(r, _enter_at(0))
    await _step(r, engine)
    assert r.venue.capabilities.amend is Amend.DOWN
    return engine, _legs(engine)


def _legs(engine: Engine) -> dict[OrderRole, str]:
    return {o.role: o.client_id for o in engine.accounts["a1"].working(SYMBOL, PROTECTIVE)}


def _move_coins(r: Rig, engine: Engine, qty: Decimal) -> Decimal:
    """``qty`` coins arrive (or leave, negative) outside Rampart; the books learn it as
    reconciliation would. Returns what the position now holds."""
    r.sim.exchange.sub("a1").totals["BTC"] += qty
    pos = engine.accounts["a1"].ledger.positions[SYMBOL]
    pos.qty += qty
    return pos.qty


def _sent(r: Rig, since: Counter[str]) -> dict[str, int]:
    now = r.sim.context.requests
    return {p: now[p] - since[p] for p in (AMEND, ORDER, NEW_OCO) if now[p] - since[p]}


def _venue_calls(r: Rig, since: int) -> set[str]:
    """What the venue asked the exchange for since call ``since`` (ccxt endpoints)."""
    return {endpoint for endpoint, _ in r.calls[since:]}


def _on_sim(r: Rig) -> dict[str, tuple[int, Decimal]]:
    return {o.client_id: (o.seq, o.qty) for o in r.sim.exchange.sub("a1").open.values()}


async def _settle(r: Rig, engine: Engine) -> None:
    await engine.executor.protection.ensure(engine.accounts["a1"], SYMBOL)
    await engine.executor.drain()


def test_a_shrink_lowers_both_legs_in_place_and_the_books_equal_the_exchange() -> None:
    async def go() -> None:
        async with rig() as r:
            engine, legs = await _protected(r)
            ids = {cid: seq for cid, (seq, _) in _on_sim(r).items()}
            assert set(ids) == set(legs.values())
            held = _move_coins(r, engine, -GONE)
            since = Counter(r.sim.context.requests)
            await _settle(r, engine)
            # Would fail on cancel-and-replace: the same two orders, ids and order ids, lower.
            assert _legs(engine) == legs
            assert _on_sim(r) == {cid: (seq, _lots(r, held)) for cid, seq in ids.items()}
            assert _sent(r, since) == {AMEND: 1}  # one request: an OCO's legs move together
            for o in engine.accounts["a1"].working(SYMBOL, PROTECTIVE):
                assert o.qty == _lots(r, held)
            _books_agree(r, engine)
            await _step(r, engine)  # a poll after it agrees too
            _books_agree(r, engine)
            assert _legs(engine) == legs and engine.violations == 0

    asyncio.run(go())


def test_growth_is_still_canceled_and_replaced() -> None:
    async def go() -> None:
        async with rig() as r:
            engine, legs = await _protected(r)
            _move_coins(r, engine, -GONE)
            await _settle(r, engine)
            assert _legs(engine) == legs
            held = _move_coins(r, engine, GONE)  # the coins come back
            since, calls = Counter(r.sim.context.requests), len(r.calls)
            await _settle(r, engine)
            await _step(r, engine)
            new = _legs(engine)
            assert set(new.values()).isdisjoint(legs.values())  # a new pair
            assert {"cancel_order", "create_oco"} <= _venue_calls(r, calls)
            assert AMEND not in _sent(r, since)  # and no amend
            assert {q for _, q in _on_sim(r).values()} == {_lots(r, held)}
            _books_agree(r, engine)

    asyncio.run(go())


def test_an_amend_the_exchange_refuses_falls_back_to_cancel_and_replace() -> None:
    async def go() -> None:
        async with rig() as r:
            engine, legs = await _protected(r)
            # Lowered on the exchange by hand below what the books know: Rampart's amend to
            # a quantity above it is refused ("Order amend (quantity increase) ...").
            ex = r.sim.exchange
            routes_amend.lower(ex, list(ex.sub("a1").open.values()), D("0.001"))
            held = _move_coins(r, engine, -GONE)
            since, calls = Counter(r.sim.context.requests), len(r.calls)
            await _settle(r, engine)
            await _step(r, engine)
            assert _sent(r, since)[AMEND] == 1
            assert {"amend_order", "cancel_order", "create_oco"} <= _venue_calls(r, calls)
            assert r.sim.context.errors[400] >= 1
            new = _legs(engine)
            assert set(new) == set(PROTECTIVE) and set(new.values()).isdisjoint(legs.values())
            assert {q for _, q in _on_sim(r).values()} == {_lots(r, held)}
            _books_agree(r, engine)

    asyncio.run(go())


def test_an_amend_whose_answer_is_lost_falls_back_to_cancel_and_replace() -> None:
    async def go() -> None:
        async with rig() as r:
            engine, legs = await _protected(r)
            r.sim.faults.add("error", count=1, paths=[AMEND], status=503)
            held = _move_coins(r, engine, -GONE)
            since, calls = Counter(r.sim.context.requests), len(r.calls)
            await _settle(r, engine)
            await _step(r, engine)
            assert _sent(r, since)[AMEND] == 1
            assert {"amend_order", "cancel_order", "create_oco"} <= _venue_calls(r, calls)
            new = _legs(engine)
            assert set(new.values()).isdisjoint(legs.values())
            assert {q for _, q in _on_sim(r).values()} == {_lots(r, held)}
            _books_agree(r, engine)

    asyncio.run(go())

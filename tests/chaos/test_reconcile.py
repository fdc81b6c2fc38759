"""Reconciliation against the simulator through the real ccxt client: what happened on the
exchange while Rampart was not looking is applied to the books, each repair is an event
(stored by the StoreWriter), and afterwards the books equal the exchange exactly."""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal

import sqlalchemy as sa

from rampart.domain.events import (
    CapitalChanged,
    Event,
    FillBooked,
    ReconciliationRepaired,
    TradeClosed,
)
from rampart.domain.orders import OrderRole, OrderStatus
from rampart.store import models as m
from rampart.store.db import open_database
from rampart.store.writer import StoreWriter
from rampart.trading.reconcile.schedule import ReconcileSchedule, ReconnectWatch

from .helpers import SYMBOL, Chaos, chaos

D = Decimal
HOLD = {"a1": {"every": 2, "hold": 100_000}}
"""Enters when flat and never exits by itself: positions end at their stop or take-profit."""


async def _until_position(rig: Chaos, limit: int = 40) -> None:
    for _ in range(limit):
        await rig.step()
        if SYMBOL in rig.eng.accounts["a1"].ledger.positions:
            return
    raise AssertionError("no position opened")


def _stop_on_exchange(rig: Chaos) -> list[D]:
    return [
        D(o["qty"])
        for o in rig.sim_state()["open_orders"]
        if o["type"] == "stop_market" and o["side"] == "sell"
    ]


def _lots(rig: Chaos, qty: D) -> D:
    """What one order can sell of ``qty``: whole lots (the rest is dust)."""
    return rig.ven.instrument(SYMBOL).floor_qty(qty)


def _repairs(events: list[Event]) -> list[ReconciliationRepaired]:
    return [e for e in events if isinstance(e, ReconciliationRepaired)]


def test_fills_while_away_are_booked_with_the_exchanges_prices_and_fees() -> None:
    async def go() -> None:
        async with chaos(HOLD) as rig:
            await _until_position(rig)
            before = len(rig.sim.exchange.trades["a1"])
            for _ in range(600):  # Rampart is away; the bracket executes on the exchange
                await rig.market()
                if not rig.sim_state()["open_orders"]:
                    break
            trade = rig.sim.exchange.trades["a1"][-1]
            assert len(rig.sim.exchange.trades["a1"]) == before + 1
            report = await rig.reconcile()
            assert report.repairs["fill_booked"] == 1 and report.matches, report.differences
            (booked,) = [
                e.fill for e in rig.events[-40:] if isinstance(e, FillBooked) and e.role != "entry"
            ][-1:]
            assert (booked.price, booked.fee, booked.qty) == (
                trade.price,
                trade.commission,
                trade.qty,
            )
            assert any(isinstance(e, TradeClosed) for e in rig.events)
            assert rig.eng.accounts["a1"].ledger.positions == {}
            assert rig.truth() == [] and rig.eng.accounts["a1"].orders == {}
            kinds = {e.kind for e in _repairs(rig.events)}
            assert "fill_booked" in kinds

    asyncio.run(go())


def test_an_order_canceled_by_hand_is_closed_and_the_position_protected_again() -> None:
    async def go() -> None:
        async with chaos(HOLD) as rig:
            await _until_position(rig)
            pos = rig.eng.accounts["a1"].ledger.positions[SYMBOL]
            stop = next(o for o in rig.sim_state()["open_orders"] if o["type"] == "stop_market")
            by_hand = rig.by_hand("a1")  # the investor's own app, same key
            await by_hand.cancel_order(str(stop["order_id"]), SYMBOL)
            await by_hand.close()
            assert _stop_on_exchange(rig) == []
            report = await rig.reconcile()
            assert report.repairs["order_closed"] >= 1, report.repairs
            assert report.matches, report.differences
            assert _stop_on_exchange(rig) == [_lots(rig, pos.qty)]
            assert rig.truth() == []
            closed = [e for e in _repairs(rig.events) if e.kind == "order_closed"]
            assert any("by hand" in e.detail for e in closed)

    asyncio.run(go())


def test_an_unknown_order_is_resolved_by_its_client_id() -> None:
    async def go() -> None:
        async with chaos(HOLD) as rig:
            rig.sim.faults.add("lost_response", count=1, paths=["/api/v3/order"], methods=["POST"])
            for _ in range(20):
                await rig.market()
                for candle in rig.sim.exchange.tape_last():
                    await rig.eng.on_candle(candle)
                if rig.unsettled():
                    break
            (cid,) = rig.unsettled()
            assert rig.eng.accounts["a1"].orders[cid].status is OrderStatus.UNKNOWN
            report = await rig.reconcile()
            assert report.repairs["order_unknown_resolved"] == 1
            assert report.repairs["fill_booked"] == 1
            assert report.matches, report.differences
            assert rig.unsettled() == [] and rig.truth() == []
            pos = rig.eng.accounts["a1"].ledger.positions[SYMBOL]
            assert _stop_on_exchange(rig) == [_lots(rig, pos.qty)]

    asyncio.run(go())


def test_an_unknown_order_the_venue_lost_track_of_is_looked_up_after_a_restart() -> None:
    async def go() -> None:
        async with chaos(HOLD) as rig:
            rig.sim.faults.add("lost_response", count=1, paths=["/api/v3/order"], methods=["POST"])
            for _ in range(20):
                await rig.step()
                if rig.unsettled():
                    break
            snapshot = json.loads(json.dumps(rig.eng.snapshot()))
            snapshot.pop("venue")  # a restart that kept the books but not the venue's list
            await rig.stop_engine()
            await rig.start_engine(HOLD, snapshot)
            assert rig.ven.tracked() == []
            report = await rig.reconcile()
            assert report.repairs["order_unknown_resolved"] == 1, report.repairs
            assert report.repairs["fill_booked"] == 1
            assert report.matches, report.differences
            assert rig.truth() == []
            pos = rig.eng.accounts["a1"].ledger.positions[SYMBOL]
            assert _stop_on_exchange(rig) == [_lots(rig, pos.qty)]

    asyncio.run(go())


def test_orders_rampart_did_not_place_are_reported_once_and_left_alone() -> None:
    async def go() -> None:
        async with chaos() as rig:
            await rig.step(3)
            price = float(rig.sim.exchange.last_price(SYMBOL))
            manual = rig.by_hand("a1")
            await manual.load_markets()
            await manual.create_order(
                SYMBOL, "limit", "buy", 0.001, round(price * 0.5, 2), {"clientOrderId": "mine-1"}
            )
            report = await rig.reconcile()
            assert report.repairs["unknown_venue_order"] == 1 and report.matches
            again = await rig.reconcile()
            assert again.repairs["unknown_venue_order"] == 0  # reported once per reconciler
            assert any(o["client_id"] == "mine-1" for o in rig.sim_state()["open_orders"])
            report = await rig.reconcile(cancel_unknown=True)
            assert report.repairs["unknown_venue_order_canceled"] == 1
            assert not any(o["client_id"] == "mine-1" for o in rig.sim_state()["open_orders"])
            await manual.close()

    asyncio.run(go())


def test_a_restart_from_an_older_checkpoint_adopts_the_orders_sent_since() -> None:
    async def go() -> None:
        async with chaos({"a1": {"every": 2, "hold": 4}}) as rig:
            await rig.step(20)
            snapshot = json.loads(json.dumps(rig.eng.snapshot()))
            trades_at_checkpoint = {t.trade_id for t in rig.sim.exchange.trades["a1"]}
            seq_at_checkpoint = rig.eng.accounts["a1"].seq
            await rig.step(15)  # orders sent after the checkpoint: the restart will not know them
            await rig.stop_engine()  # killed
            await rig.market(5)  # and away for a while
            after: list[Event] = []
            rig.bus.subscribe(after.append)
            await rig.start_engine({"a1": {"every": 2, "hold": 4}}, snapshot)
            report = await rig.reconcile()
            assert report.repairs["order_adopted"] >= 1, report.repairs
            assert report.matches, report.differences
            assert rig.truth() == []
            later = {t.trade_id for t in rig.sim.exchange.trades["a1"]} - trades_at_checkpoint
            booked = [
                int(e.fill.fill_id.rsplit(":", 1)[1]) for e in after if isinstance(e, FillBooked)
            ]
            assert sorted(booked) == sorted(later)  # each missed fill booked once, none twice
            acct = rig.eng.accounts["a1"]
            assert acct.seq > seq_at_checkpoint
            for pos in acct.ledger.positions.values():
                assert _stop_on_exchange(rig) == [_lots(rig, pos.qty)]
            await rig.step(20)  # trades on with fresh client ids: no duplicate refused
            assert ("create_order", "duplicate") not in rig.calls
            assert rig.truth() == [] and rig.eng.violations == 0

    asyncio.run(go())


def test_a_deposit_is_set_to_the_exchanges_figure_and_hand_bought_coins_held_apart() -> None:
    async def go() -> None:
        async with chaos() as rig:
            await rig.step(2)
            totals = rig.sim.exchange.sub("a1").totals
            totals["USDT"] += D("125.5")  # a deposit Rampart did not make
            totals["BTC"] = totals.get("BTC", D(0)) + D("0.002")  # and coins it did not buy
            seen = len(rig.events)
            report = await rig.reconcile()
            assert report.repairs["balance_adjusted"] == 1
            # A capital change, not profit: PnL today, the reports and /profit leave it out.
            (deposit,) = [e for e in rig.events[seen:] if isinstance(e, CapitalChanged)]
            assert (deposit.account_id, deposit.delta, deposit.actor) == ("a1", D("125.5"), "venue")
            assert report.repairs["holdings_apart"] == 1
            assert report.repairs["position_adjusted"] == 0
            assert report.matches, report.differences
            acct = rig.eng.accounts["a1"]
            assert acct.held_apart == {SYMBOL: D("0.002")}
            assert SYMBOL not in acct.ledger.positions  # not merged into a sized position
            ledger = acct.ledger
            marks = rig.eng.marks
            assert abs(ledger.equity(marks) - ledger.pnl_equity(marks)) < D("1e-12")
            assert _stop_on_exchange(rig) == []  # Rampart never sells what it did not buy
            again = await rig.reconcile()
            assert again.repairs["holdings_apart"] == 0  # reported once

    asyncio.run(go())


def test_repairs_are_stored(db_url: str) -> None:
    async def go() -> None:
        db = open_database(db_url)
        writer = StoreWriter(db)
        async with chaos(HOLD) as rig:
            rig.bus.subscribe(writer)
            await _until_position(rig)
            stop = next(o for o in rig.sim_state()["open_orders"] if o["type"] == "stop_market")
            by_hand = rig.by_hand("a1")
            await by_hand.cancel_order(str(stop["order_id"]), SYMBOL)
            await by_hand.close()
            await rig.reconcile()
        writer.flush()
        with db.connect() as conn:
            rows = conn.execute(sa.select(m.reconciliation_repairs)).mappings().all()
        db.dispose()
        kinds = {r["kind"] for r in rows}
        assert "order_closed" in kinds
        row = next(r for r in rows if r["kind"] == "order_closed")
        assert row["account_id"] == "a1" and row["symbol"] == SYMBOL and row["detail"]

    asyncio.run(go())


def test_entries_protective_and_exit_orders_all_reconcile_to_a_match() -> None:
    async def go() -> None:
        async with chaos({"a1": {"every": 2, "hold": 3}}) as rig:
            await rig.step(40)
            roles = {o.role for o in rig.eng.accounts["a1"].recent_orders}
            assert {OrderRole.ENTRY, OrderRole.STOP_LOSS, OrderRole.EXIT} <= roles
            report = await rig.reconcile(reason="interval")
            assert report.matches and report.total_repairs == 0, report.to_dict()

    asyncio.run(go())


def test_the_schedule_runs_at_start_after_a_reconnect_and_on_the_interval() -> None:
    schedule = ReconcileSchedule(every_s=60)
    assert schedule.due(0) == "start"
    assert schedule.due(30_000) is None
    assert schedule.due(40_000, reconnected=True) == "reconnect"
    assert schedule.due(90_000) is None
    assert schedule.due(100_000) == "interval"


def test_the_watch_notices_a_reconnect_once() -> None:
    seen: list[str | None] = []
    watch = ReconnectWatch(lambda endpoint, seconds, kind: seen.append(kind))
    watch("fetch_order", 0.1, None)
    assert not watch.take()
    watch("fetch_order", 0.1, "disconnected")
    watch("fetch_order", 0.1, "timeout")
    watch("fetch_order", 0.1, None)
    assert watch.take() and not watch.take()
    watch("create_order", 0.1, "invalid_order")  # a refusal is not a lost connection
    watch("create_order", 0.1, None)
    assert not watch.take() and watch.reconnects == 1
    assert seen == [None, "disconnected", "timeout", None, "invalid_order", None]

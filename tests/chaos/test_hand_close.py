"""A position closed by hand on the exchange while Rampart was down, coins bought by hand, and
venue reports the books cannot take — through the real ccxt client and the simulator.

Found: after kill -9, the investor cancelled the stop and take-profit and sold by hand; on
restart the books followed the exchange only as ``position_adjusted`` + ``balance_adjusted``:
no trade, realised PnL short by the trade, and three rounds of protection (six rejected
orders) for a position the exchange no longer held.
"""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal
from typing import Any

import pytest

from rampart.domain.events import Event, FillBooked, ReportUnexplained, TradeClosed
from rampart.domain.fills import Fill, Liquidity
from rampart.domain.orders import OrderRole, OrderStatus, Side
from rampart.observability.metrics import Metrics
from rampart.trading.ports import VenueReport

from .helpers import SYMBOL, Chaos, chaos

D = Decimal
HOLD = {"a1": {"every": 2, "hold": 100_000}}
CAPITAL = D("10000")
BY_HAND = D("0.00999")
"""What a buy of 0.01 BTC by hand leaves: Binance takes its commission from the BTC received."""


async def _until_position(rig: Chaos, limit: int = 40) -> None:
    for _ in range(limit):
        await rig.step()
        acct = rig.eng.accounts["a1"]
        if SYMBOL in acct.ledger.positions and len(rig.sim_state()["open_orders"]) == 2:
            return
    raise AssertionError("no protected position opened")


async def _close_by_hand(rig: Chaos, buy_extra: D = D(0)) -> dict[str, Any]:
    """Cancel both legs and sell everything at market, as the investor's own app would."""
    by_hand = rig.by_hand("a1")
    try:
        for _ in range(2):  # the stop; its OCO partner may go with it
            listed = rig.sim_state()["open_orders"]
            if listed:
                await by_hand.cancel_order(str(listed[0]["order_id"]), SYMBOL)
        assert rig.sim_state()["open_orders"] == []
        held = rig.sim.exchange.sub("a1").balances()["BTC"].total
        sold = await by_hand.create_order(SYMBOL, "market", "sell", float(held))
        if buy_extra:
            await by_hand.create_order(SYMBOL, "market", "buy", float(buy_extra))
        return sold
    finally:
        await by_hand.close()


async def _restart(rig: Chaos, snapshot: dict[str, Any]) -> list[Event]:
    await rig.stop_engine()  # killed: the checkpoint is all that is left
    after: list[Event] = []
    rig.bus.subscribe(after.append)
    await rig.start_engine(HOLD, json.loads(json.dumps(snapshot)))
    return after


def _creates(rig: Chaos) -> int:
    return sum(1 for endpoint, _ in rig.calls if endpoint in ("create_order", "create_oco"))


def test_a_position_closed_by_hand_while_down_closes_its_trade_as_external() -> None:
    async def go() -> None:
        async with chaos(HOLD) as rig:
            await _until_position(rig)
            snapshot = rig.eng.snapshot()
            pos = rig.eng.accounts["a1"].ledger.positions[SYMBOL]
            await rig.stop_engine()
            await _close_by_hand(rig)
            await rig.start_engine(HOLD, json.loads(json.dumps(snapshot)))
            after: list[Event] = []
            rig.bus.subscribe(after.append)
            creates_before = _creates(rig)
            report = await rig.reconcile(reason="start")
            assert report.repairs["external_fill_booked"] == 1, report.to_dict()
            assert report.repairs["position_adjusted"] == 0
            assert report.repairs["balance_adjusted"] == 0, report.to_dict()
            assert report.matches, report.differences
            assert _creates(rig) == creates_before  # nothing protected that is not there
            (trade,) = [e.trade for e in after if isinstance(e, TradeClosed)]
            sale = rig.sim.exchange.trades["a1"][-1]
            assert not sale.is_buyer
            assert trade.exit_reason == "external"
            assert trade.exit_price == sale.price and trade.qty == pos.qty
            acct = rig.eng.accounts["a1"]
            # The cash the trades moved: a buy's commission came out of the BTC it received.
            net = sum(
                (-1 if t.is_buyer else 1) * t.price * t.qty
                - (t.commission if t.commission_asset == "USDT" else 0)
                for t in rig.sim.exchange.trades["a1"]
            )
            assert trade.pnl == acct.ledger.realized_pnl == net
            assert acct.ledger.cash == rig.sim.exchange.sub("a1").balances()["USDT"].total
            assert acct.ledger.capital == CAPITAL
            assert SYMBOL not in acct.ledger.positions
            assert rig.truth() == []
            assert acct.breakers.consecutive_losses == (1 if net < 0 else 0)

    asyncio.run(go())


def test_coins_bought_by_hand_are_held_apart_and_raise_an_incident() -> None:
    async def go() -> None:
        async with chaos(HOLD) as rig:
            await _until_position(rig)
            snapshot = rig.eng.snapshot()
            await rig.stop_engine()
            await _close_by_hand(rig, buy_extra=D("0.01"))
            metrics = Metrics(venue="sim")
            rig.bus.subscribe(metrics.on_event)
            await rig.start_engine(HOLD, json.loads(json.dumps(snapshot)))
            report = await rig.reconcile(reason="start")
            assert report.repairs["external_fill_booked"] == 1
            assert report.repairs["holdings_apart"] == 1, report.to_dict()
            assert report.matches, report.differences
            acct = rig.eng.accounts["a1"]
            assert acct.held_apart == {SYMBOL: BY_HAND}
            assert SYMBOL not in acct.ledger.positions
            metrics.sample_engine(rig.eng)
            assert metrics.held_apart.labels(symbol=SYMBOL)._value.get() == 1
            await rig.step(6)  # trading goes on beside the coins, never selling them
            total = rig.sim.exchange.sub("a1").balances()["BTC"].total
            pos = acct.ledger.positions.get(SYMBOL)
            dust = acct.ledger.dust.get(SYMBOL, D(0))
            assert total == (pos.qty if pos else 0) + BY_HAND + dust
            assert rig.truth() == []

    asyncio.run(go())


def _fill(client_id: str, qty: D, price: D, fee: D, fill_id: str) -> Fill:
    return Fill(fill_id, client_id, "a1", SYMBOL, Side.SELL, qty, price, fee, Liquidity.TAKER, 1)


@pytest.mark.parametrize("deposit", [D(0), D(5000)], ids=["sale-only", "with-a-deposit"])
def test_a_late_fill_after_an_adjustment_is_booked_against_it(deposit: D) -> None:
    async def go() -> None:
        # Fees in USDT: the stop sells the whole position, as the story below needs (with
        # Binance's, a lot's remainder stays behind as dust and the trade closes later).
        async with chaos(HOLD, charging=None) as rig:
            await _until_position(rig)
            acct = rig.eng.accounts["a1"]
            qty = acct.ledger.positions[SYMBOL].qty
            stop = next(o for o in acct.orders.values() if o.role is OrderRole.STOP_LOSS)
            # The stop filled on the exchange but its trade could not be read: reconciliation
            # has only the balance to go by and books it at the last price.
            for order in rig.sim_state()["open_orders"]:
                rig.sim.exchange.sub("a1").open.pop(order["client_id"], None)
            sub = rig.sim.exchange.sub("a1")
            price = stop.stop_price
            proceeds = qty * price - D("0.5")
            sub.totals["BTC"] -= qty
            sub.totals["USDT"] += proceeds + deposit
            rig.ven.tracker.drop(stop.client_id)
            mark = rig.eng.marks[SYMBOL]
            realized, capital = acct.ledger.realized_pnl, acct.ledger.capital
            report = await rig.reconcile(reason="interval")
            assert report.repairs["position_adjusted"] == 1, report.to_dict()
            (adjustment,) = acct.adjustments[SYMBOL]
            if deposit:  # the cash says nothing about the price: the last price, then a deposit
                assert adjustment.price == mark and report.repairs["balance_adjusted"] == 1
            else:  # the price the cash that came in says
                assert abs(adjustment.price * qty - proceeds) < D("1e-18")
                assert report.repairs["balance_adjusted"] == 0
            # Then the real fill report arrives: booked against the adjustment, no crash.
            late = _fill(stop.client_id, qty, price, D("0.5"), "late:1")
            rig.eng.executor.deliver(VenueReport("a1", stop.client_id, OrderStatus.FILLED, 2, late))
            acct.orders[stop.client_id] = stop  # the books still held the stop as open
            stop.status = OrderStatus.SUBMITTED
            await rig.eng.executor.drain()
            assert not acct.close_only
            assert SYMBOL not in acct.adjustments
            assert acct.ledger.cash == sub.balances()["USDT"].total
            # In the end the trade made what the stop fill made, and the deposit is capital.
            entry = acct.ledger.realized_pnl - realized
            assert acct.ledger.capital == capital + deposit
            # Within the 28 digits of an adjustment price that the cash implied (a division):
            # cash near 10,000 keeps 24 decimals, the trade's PnL near 4 keeps 27.
            assert abs(entry - (acct.ledger.cash - deposit - capital - realized)) < D("1e-18")
            equity = acct.ledger.equity(rig.eng.marks)
            assert equity == acct.ledger.pnl_equity(rig.eng.marks)

    asyncio.run(go())


def test_an_impossible_report_makes_the_account_close_only_with_the_order_named() -> None:
    async def go() -> None:
        async with chaos(HOLD) as rig:
            await _until_position(rig)
            acct = rig.eng.accounts["a1"]
            metrics = Metrics(venue="sim")
            rig.bus.subscribe(metrics.on_event)
            stop = next(o for o in acct.orders.values() if o.role is OrderRole.STOP_LOSS)
            too_much = acct.ledger.positions[SYMBOL].qty * 3
            rig.eng.executor.deliver(
                VenueReport(
                    "a1",
                    stop.client_id,
                    OrderStatus.PARTIALLY_FILLED,
                    3,
                    _fill(stop.client_id, too_much, D(1), D(0), "bad:1"),
                )
            )
            rig.eng.executor.deliver(
                VenueReport(
                    "a1",
                    "rp-someone-else",
                    OrderStatus.FILLED,
                    3,
                    _fill("rp-someone-else", D(1), D(1), D(0), "bad:2"),
                )
            )
            await rig.eng.executor.drain()  # must not raise
            (first, second) = [e for e in rig.events if isinstance(e, ReportUnexplained)]
            assert first.client_id == stop.client_id and second.client_id == "rp-someone-else"
            assert acct.close_only and stop.client_id in acct.close_only
            assert acct.state.value == "reducing"
            assert metrics.unexplained.labels(order=stop.client_id)._value.get() == 1
            before = acct.seq
            await rig.step(4)  # trading goes on: exits yes, no new entry
            entries = [o for o in acct.recent_orders if o.role is OrderRole.ENTRY]
            assert all(int(o.client_id.split("-")[2]) <= before for o in entries)
            await rig.eng.controls.resume_account("a1", "op", "checked", lift_breakers=True)
            assert not acct.close_only and acct.state.value == "active"

    asyncio.run(go())


def test_one_hand_sale_of_the_position_and_coins_held_apart_books_its_share_of_the_fee() -> None:
    async def go() -> None:
        async with chaos(HOLD) as rig:
            await _until_position(rig)
            by_hand = rig.by_hand("a1")
            await by_hand.create_order(SYMBOL, "market", "buy", 0.01)
            await by_hand.close()
            first = await rig.reconcile(reason="interval")
            assert first.repairs["holdings_apart"] == 1, first.to_dict()
            qty = rig.eng.accounts["a1"].ledger.positions[SYMBOL].qty
            await _close_by_hand(rig)  # one sale: the position and the coins held apart
            report = await rig.reconcile(reason="interval")
            assert report.repairs["external_fill_booked"] == 1, report.to_dict()
            sale = rig.sim.exchange.trades["a1"][-1]
            lots = rig.ven.instrument(SYMBOL).floor_qty(qty + BY_HAND)
            assert not sale.is_buyer and sale.qty == lots
            (booked,) = [
                e.fill for e in rig.events if isinstance(e, FillBooked) and e.role == "external"
            ]
            # The coins held apart go first; the position's part is the rest, its lots.
            assert booked.qty == lots - BY_HAND and booked.price == sale.price
            assert booked.fee == sale.commission * booked.qty / sale.qty  # its share, not all
            acct = rig.eng.accounts["a1"]
            assert acct.held_apart == {} and SYMBOL not in acct.ledger.positions
            # The coins' own proceeds are the investor's money coming in: a deposit.
            assert report.repairs["balance_adjusted"] == 1
            assert acct.ledger.cash == rig.sim.exchange.sub("a1").balances()["USDT"].total
            assert rig.truth() == []

    asyncio.run(go())


def test_a_buy_and_a_sale_by_hand_between_two_passes_count_the_coins_the_buy_got() -> None:
    """A buy by hand got its quantity less Binance's commission: that, not the quantity ordered,
    is what a later sale by hand takes first, before Rampart's position."""

    async def go() -> None:
        async with chaos(HOLD) as rig:
            await _until_position(rig)
            by_hand = rig.by_hand("a1")
            try:
                await by_hand.create_order(SYMBOL, "market", "buy", 0.01)
            finally:
                await by_hand.close()
            await _close_by_hand(rig)  # one sale: the coins bought by hand and the position
            report = await rig.reconcile(reason="interval")
            assert report.repairs["external_fill_booked"] == 1, report.to_dict()
            assert report.repairs["position_adjusted"] == 0, report.to_dict()
            assert report.matches, report.differences
            assert rig.truth() == []

    asyncio.run(go())

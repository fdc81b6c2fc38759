"""Snapshot and restore: a restarted venue continues exactly as one that never stopped."""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from rampart.clock import SimClock
from rampart.domain.errors import VenueError
from rampart.domain.orders import OrderStatus
from rampart.trading.ports import VenueReport
from rampart.venues.paper import PaperVenue

from .helpers import (
    BUY,
    INSTRUMENTS,
    LIMIT,
    MARKET,
    SELL,
    STOP,
    STOP_LIMIT,
    Desk,
    bar,
    order,
    sync,
)

D = Decimal
Step = Callable[[PaperVenue, SimClock], Any]


def at(candle_args: tuple) -> Step:
    def step(venue: PaperVenue, clock: SimClock) -> None:
        candle = bar(*candle_args)
        clock.set(candle.close_ts)
        venue.on_candle(candle)

    return step


def send(o: Any) -> Step:
    return lambda venue, clock: sync(venue.submit(o))


def pair(stop: Any, take: Any) -> Step:
    return lambda venue, clock: sync(venue.submit_oco(stop, take))


def cancel(client_id: str) -> Step:
    return lambda venue, clock: sync(venue.cancel("a", client_id))


# Market remainders, a stop-limit that triggers and rests across bars, an OCO whose stop fills,
# a partially filled limit that is canceled, a rejection and its idempotent resubmit.
SCRIPT: list[Step] = [
    at((0, 100, 101, 99, 100, 10)),
    send(order("m1", BUY, MARKET, "3")),
    send(order("sl1", SELL, STOP_LIMIT, "0.5", price="94.50", stop="95.00")),
    send(order("l1", BUY, LIMIT, "2.5", price="98.00")),
    at((1, 101, 102, 100, 101, 10)),
    pair(order("sl", SELL, STOP, "1", stop="95.00"), order("tp", SELL, LIMIT, "1", price="106.00")),
    send(order("r1", BUY, LIMIT, "0.01", price="98.00")),
    at((2, 93, 94, 92, 93.5, 10)),
    send(order("r1", BUY, LIMIT, "0.01", price="98.00")),
    send(order("m1", BUY, MARKET, "3")),
    cancel("l1"),
    at((3, 94, 95, 93.8, 94.8, 10)),
    send(order("m2", SELL, MARKET, "0.7")),
    send(order("b1", BUY, STOP, "0.4", stop="96.00")),
    at((4, 95, 97, 94, 96.5, 0)),
    at((5, 96.5, 98, 96, 97, 3)),
]


def fresh() -> tuple[PaperVenue, SimClock, list[VenueReport]]:
    clock = SimClock(0)
    venue = PaperVenue(INSTRUMENTS, clock=clock)
    reports: list[VenueReport] = []
    venue.set_listener(reports.append)
    sync(venue.open_account("a", {"USDT": D("10000"), "BTC": D("2")}))
    return venue, clock, reports


def test_the_script_exercises_what_it_claims() -> None:
    venue, clock, reports = fresh()
    for step in SCRIPT:
        step(venue, clock)
    statuses = {(r.client_id, r.status) for r in reports}
    assert ("sl1", OrderStatus.FILLED) in statuses and ("tp", OrderStatus.CANCELED) in statuses
    assert ("l1", OrderStatus.CANCELED) in statuses and ("r1", OrderStatus.REJECTED) in statuses
    assert [r.status for r in reports if r.client_id == "m1" and r.fill] == [
        OrderStatus.PARTIALLY_FILLED,
        OrderStatus.PARTIALLY_FILLED,
        OrderStatus.FILLED,
    ]
    assert any(r.client_id == "b1" and r.fill for r in reports)


@pytest.mark.parametrize("split", range(1, len(SCRIPT)))
def test_restore_then_continue_matches_never_stopping(split: int) -> None:
    straight, clock, reports = fresh()
    for step in SCRIPT:
        step(straight, clock)

    first, clock1, before = fresh()
    for step in SCRIPT[:split]:
        step(first, clock1)
    saved = json.loads(json.dumps(first.snapshot()))  # it must survive a trip through JSON
    clock2 = SimClock(clock1.now_ms())
    second = PaperVenue.restore(saved, INSTRUMENTS, clock=clock2)
    after: list[VenueReport] = []
    second.set_listener(after.append)
    for step in SCRIPT[split:]:
        step(second, clock2)

    assert before + after == reports
    assert second.snapshot() == straight.snapshot()
    assert sync(second.fetch_balances("a")) == sync(straight.fetch_balances("a"))


def test_a_damaged_snapshot_raises_a_sentence_and_changes_nothing() -> None:
    desk = Desk()
    desk.candle(bar(0, 100, 101, 99, 100))
    desk.submit(order("l1", BUY, LIMIT, "1", price="99.00"))
    good = desk.venue.snapshot()
    broken_order = json.loads(json.dumps(good))
    broken_order["accounts"]["a"]["open"][0]["qty"] = "lots"
    unknown_symbol = json.loads(json.dumps(good))
    unknown_symbol["accounts"]["a"]["open"][0]["symbol"] = "DOGE/USDT"
    for bad in ({}, {"version": 99}, {"version": 1}, broken_order, unknown_symbol):
        with pytest.raises(VenueError) as err:
            desk.venue.load_snapshot(bad)
        assert err.value.code == "bad_snapshot" and err.value.message.endswith(".")
        assert desk.venue.snapshot() == good


def test_accounts_opened_since_the_snapshot_are_kept() -> None:
    desk = Desk()
    desk.candle(bar(0, 100, 101, 99, 100))
    desk.submit(order("l1", BUY, LIMIT, "1", price="99.00"))
    saved = desk.venue.snapshot()
    restarted = Desk()  # a new process: "a" funded again from config, plus a new account
    sync(restarted.venue.open_account("new", {"USDT": D("500")}))
    restarted.venue.load_snapshot(saved)
    assert restarted.open_ids() == ["l1"]
    assert restarted.free("USDT", "new") == D("500")
    assert restarted.locked("USDT") == D("99.099")
    # The sequence continues: the next order is P2, not P1 again.
    assert restarted.submit(order("l2", BUY, LIMIT, "1", price="98.00"))[0].venue_order_id == "P2"


def test_an_account_with_orders_unknown_to_the_snapshot_is_refused() -> None:
    saved = Desk().venue.snapshot()
    other = Desk()
    other.candle(bar(0, 100, 101, 99, 100))
    other.submit(order("l1", BUY, LIMIT, "1", price="99.00"))
    sync(other.venue.open_account("b", {"USDT": D("1")}))
    saved["accounts"].pop("a")
    with pytest.raises(VenueError) as err:
        other.venue.load_snapshot(saved)
    assert err.value.code == "bad_snapshot" and other.open_ids() == ["l1"]


def test_finished_order_history_is_bounded() -> None:
    clock = SimClock(0)
    venue = PaperVenue(INSTRUMENTS, clock=clock, history_limit=3)
    sync(venue.open_account("a", {"USDT": D("10000")}))
    venue.on_candle(bar(0, 100, 101, 99, 100))
    for i in range(5):
        sync(venue.submit(order(f"c{i}", BUY, LIMIT, "1", price="90.00")))
        sync(venue.cancel("a", f"c{i}"))
    assert sync(venue.fetch_order("a", "c1")) is None
    assert sync(venue.fetch_order("a", "c4")) is not None
    assert len(venue.snapshot()["accounts"]["a"]["done"]) == 3

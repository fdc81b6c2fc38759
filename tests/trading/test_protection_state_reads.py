"""What a position's protection reads, order by order: only the unfilled part of a stop covers
coins; market exits add up with the stop; the exchange's cover is told without a reason, with
"a market sell is closing it" only when one is; a stop too small and no monitor is UNPROTECTED
with the price of what does rest; the monitor's why names the exchange's refusal (or says none
was given) and the bracket's state otherwise; a position gone is told as flat; times in UTC."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from decimal import Decimal

import pytest

from rampart.domain.accounts import AccountSpec
from rampart.domain.events import ProtectionChanged
from rampart.domain.orders import Order, OrderRole, OrderStatus, OrderType, Side
from rampart.domain.positions import Position
from rampart.risk.breakers import BreakerState
from rampart.risk.profiles import get_profile
from rampart.trading.account import AccountRuntime
from rampart.trading.bracket import BracketState, Refusal
from rampart.trading.protection_state import (
    FLAT,
    WHY_HELD,
    Cover,
    clock_text,
    observe,
    read,
)

from .helpers import SYMBOL

D = Decimal
NOW = 1_704_067_200_000  # 2024-01-01 00:00 UTC


def _acct() -> AccountRuntime:
    spec = AccountSpec("a1", "scripted", "moderate", D(10_000), (SYMBOL,))
    return AccountRuntime(spec, get_profile("moderate"), BreakerState())


def _pos(qty: str) -> Position:
    return Position(SYMBOL, "scripted", "e1", 0, D(90), D(120), qty=D(qty))


def _order(
    acct: AccountRuntime, cid: str, role: OrderRole, qty: str, filled: str = "0", stop: int = 90
) -> Order:
    order = Order(
        client_id=cid,
        account_id="a1",
        symbol=SYMBOL,
        side=Side.SELL,
        type=OrderType.STOP_MARKET if role is OrderRole.STOP_LOSS else OrderType.MARKET,
        qty=D(qty),
        role=role,
        stop_price=D(stop) if role is OrderRole.STOP_LOSS else None,
        status=OrderStatus.PARTIALLY_FILLED if D(filled) else OrderStatus.NEW,
        filled_qty=D(filled),
    )
    acct.orders[cid] = order
    return order


def _whole(qty: Decimal) -> Decimal:
    return qty.quantize(D("0.001"), rounding="ROUND_FLOOR")


def test_only_the_unfilled_part_of_a_stop_covers_coins() -> None:
    acct = _acct()
    _order(acct, "sl", OrderRole.STOP_LOSS, "10", filled="4")
    assert read(acct, _pos("6"), _whole, NOW).cover is Cover.EXCHANGE
    assert read(acct, _pos("10"), _whole, NOW).cover is Cover.UNPROTECTED


def test_the_exchanges_cover_says_no_why_unless_a_market_sell_is_closing_it() -> None:
    acct = _acct()
    _order(acct, "sl", OrderRole.STOP_LOSS, "10")
    seen = read(acct, _pos("10"), _whole, NOW)
    assert (seen.cover, seen.why, seen.reason, seen.since, seen.resting_stop) == (
        Cover.EXCHANGE, "", "", None, D(90)
    )  # fmt: skip
    assert seen.text == "protected by the exchange"


def test_market_exits_add_up_with_each_other_and_with_the_stop() -> None:
    acct = _acct()
    _order(acct, "x1", OrderRole.EXIT, "4")
    _order(acct, "x2", OrderRole.EXIT, "3")
    seen = read(acct, _pos("7"), _whole, NOW)
    assert (seen.cover, seen.why) == (Cover.EXCHANGE, "a market sell is closing it")
    _order(acct, "sl", OrderRole.STOP_LOSS, "3")
    assert read(acct, _pos("10"), _whole, NOW).cover is Cover.EXCHANGE  # 3 + 4 + 3
    assert read(acct, _pos("11"), _whole, NOW).cover is Cover.UNPROTECTED


def test_an_exit_part_filled_covers_only_what_it_has_left_to_sell() -> None:
    acct = _acct()
    _order(acct, "x1", OrderRole.EXIT, "10", filled="3")  # the books not yet told of the 3
    assert read(acct, _pos("10"), _whole, NOW).cover is Cover.UNPROTECTED
    assert read(acct, _pos("7"), _whole, NOW).cover is Cover.EXCHANGE


def test_orders_of_another_symbol_asked_to_cancel_or_not_resting_cover_nothing() -> None:
    acct = _acct()
    other = _order(acct, "eth", OrderRole.STOP_LOSS, "10")
    other.symbol = "ETH/USDT"
    _order(acct, "gone", OrderRole.STOP_LOSS, "10")
    acct.pending_cancel.add("gone")
    _order(acct, "unknown", OrderRole.STOP_LOSS, "10").status = OrderStatus.UNKNOWN
    assert read(acct, _pos("10"), _whole, NOW).cover is Cover.UNPROTECTED
    _order(acct, "sl", OrderRole.STOP_LOSS, "10")
    assert read(acct, _pos("10"), _whole, NOW).cover is Cover.EXCHANGE


def test_the_largest_resting_stop_gives_the_price_the_first_of_equals() -> None:
    acct = _acct()
    _order(acct, "a", OrderRole.STOP_LOSS, "2", stop=80)
    _order(acct, "b", OrderRole.STOP_LOSS, "5", stop=85)
    _order(acct, "c", OrderRole.STOP_LOSS, "5", stop=88)
    seen = read(acct, _pos("10"), _whole, NOW)
    assert (seen.cover, seen.resting_stop) == (Cover.UNPROTECTED, D(85))
    assert seen.why == "no stop rests and the monitor does not hold it"
    assert (seen.reason, seen.since) == ("none", NOW)
    assert seen.text == "UNPROTECTED (since 2024-01-01 00:00:00 UTC)"


def test_the_monitors_why_names_the_refusal_or_says_none_was_given() -> None:
    acct = _acct()
    bracket = acct.bracket_book.of(SYMBOL)
    bracket.state = BracketState.REFUSED
    bracket.refusal = Refusal(D(10), 1, 1, "g", why="Filter failure: NOTIONAL", code="filter")
    seen = read(acct, _pos("10"), _whole, NOW)
    assert (seen.cover, seen.reason) == (Cover.MONITOR, "filter")
    assert seen.why == "the exchange refused the stop: Filter failure: NOTIONAL"
    bracket.refusal = Refusal(D(10), 1, 1, "g")
    seen = read(acct, _pos("10"), _whole, NOW)
    assert (seen.why, seen.reason) == ("the exchange refused the stop: no reason given", "rejected")
    # A refusal remembered while the bracket waits on something else: that is the why.
    bracket.state = BracketState.GROWING
    seen = read(acct, _pos("10"), _whole, NOW)
    assert (seen.why, seen.reason) == (WHY_HELD[BracketState.GROWING], "growing")
    _order(acct, "sl", OrderRole.STOP_LOSS, "4", stop=91)
    seen = read(acct, _pos("10"), _whole, NOW)
    assert seen.why.startswith("the stop on the exchange covers 4 of 10; the entry is still")
    assert seen.resting_stop == D(91)


def test_a_held_state_without_words_of_its_own_is_named_by_its_value() -> None:
    acct = _acct()
    bracket = acct.bracket_book.of(SYMBOL)
    unnamed = [s for s in BracketState if s.guarded and s not in WHY_HELD]
    for state in unnamed:
        bracket.state = state
        seen = read(acct, _pos("10"), _whole, NOW)
        assert (seen.why, seen.reason) == (state.value, state.value)
    bracket.state = BracketState.MOVING
    assert read(acct, _pos("10"), _whole, NOW).why == "the stop is being moved"


def test_observe_tells_each_change_once_and_a_position_gone_as_flat() -> None:
    acct = _acct()
    acct.ledger.positions[SYMBOL] = _pos("10")
    told: list[ProtectionChanged] = []
    observe(acct, lambda symbol, qty: _whole(qty), NOW, told.append)
    observe(acct, lambda symbol, qty: _whole(qty), NOW + 1, told.append)  # no change: silent
    assert told == [
        ProtectionChanged(
            NOW,
            "a1",
            SYMBOL,
            "unprotected",
            "none",
            "no stop rests and the monitor does not hold it",
            NOW,
        )
    ]
    _order(acct, "sl", OrderRole.STOP_LOSS, "10")
    observe(acct, lambda symbol, qty: _whole(qty), NOW + 2, told.append)
    assert told[-1] == ProtectionChanged(NOW + 2, "a1", SYMBOL, "exchange", "", "", None)
    del acct.ledger.positions[SYMBOL]
    observe(acct, lambda symbol, qty: _whole(qty), NOW + 3, told.append)
    assert told[-1] == ProtectionChanged(NOW + 3, "a1", SYMBOL, FLAT, "", "", None)
    observe(acct, lambda symbol, qty: _whole(qty), NOW + 4, told.append)
    assert len(told) == 3


@pytest.fixture
def far_east() -> Iterator[None]:
    """The machine's local time is not UTC (Tokyo): a time told in UTC must not follow it."""
    before = os.environ.get("TZ")
    os.environ["TZ"] = "Asia/Tokyo"
    time.tzset()
    yield
    if before is None:
        os.environ.pop("TZ")
    else:
        os.environ["TZ"] = before
    time.tzset()


def test_times_are_told_in_utc_whatever_the_machines_zone(far_east: None) -> None:
    assert clock_text(NOW) == "2024-01-01 00:00:00 UTC"

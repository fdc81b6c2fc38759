"""What the protector reads before it sends anything: whether a position is protected, the
coins being sold by exits, and what is too small (dust) for any order.

The engine's "no position without a live stop-loss" check and the guard both ask
:meth:`Protector.is_protected` on every candle.

Only the working orders on the position's own symbol count, and not those asked to cancel. A
stop protects when it covers every coin that can be sold (whole lots); market exits protect
when together they sell that much; a take-profit alone never protects; the position monitor
(``guarded``) always does. The instrument's lot is 0.00001 BTC, so a position of 20.000005 BTC
can sell at most 20 BTC in one order.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from decimal import Decimal

import pytest

from rampart.domain.orders import Order, OrderRole, OrderType, Side
from rampart.domain.positions import Position
from rampart.trading.account import AccountRuntime
from rampart.trading.engine import Engine
from rampart.trading.protection import exiting, locked_by_cancels

from .helpers import SYMBOL, ScriptedAgent, build

D = Decimal
ROLE_TYPES = {
    OrderRole.STOP_LOSS: OrderType.STOP_MARKET,
    OrderRole.TAKE_PROFIT: OrderType.LIMIT,
    OrderRole.EXIT: OrderType.MARKET,
}


@dataclass(frozen=True)
class Working:
    role: OrderRole
    qty: str
    filled: str = "0"
    symbol: str = SYMBOL
    canceling: bool = False


@dataclass(frozen=True)
class Case:
    about: str
    held: str
    orders: tuple[Working, ...] = ()
    guarded: bool = False
    protected: bool = False


STOP, TAKE, EXIT = OrderRole.STOP_LOSS, OrderRole.TAKE_PROFIT, OrderRole.EXIT
CASES = [
    Case("nothing working", "20"),
    Case("a stop for the whole position", "20", (Working(STOP, "20"),), protected=True),
    Case("a stop for every whole lot of it", "20.000005", (Working(STOP, "20"),), protected=True),
    Case("a stop one lot short", "20", (Working(STOP, "19.99999"),)),
    Case("a stop partly filled, the rest short", "20", (Working(STOP, "20", filled="1"),)),
    Case("a stop being canceled", "20", (Working(STOP, "20", canceling=True),)),
    Case("a stop on another symbol", "20", (Working(STOP, "20", symbol="ETH/USDT"),)),
    Case(
        "a stop after an order of another symbol",
        "20",
        (Working(EXIT, "1", symbol="ETH/USDT"), Working(STOP, "20")),
        protected=True,
    ),
    Case(
        "a canceling stop before a live one",
        "20",
        (Working(STOP, "20", canceling=True), Working(STOP, "20")),
        protected=True,
    ),
    Case(
        "a whole stop, then a short one",
        "20",
        (Working(STOP, "20"), Working(STOP, "5")),
        protected=True,
    ),
    Case("a take-profit alone", "20", (Working(TAKE, "20"),)),
    Case("a short stop after the take-profit", "20", (Working(TAKE, "20"), Working(STOP, "10"))),
    Case(
        "two exits selling it all", "20", (Working(EXIT, "12"), Working(EXIT, "8")), protected=True
    ),
    Case("two exits one lot short", "20", (Working(EXIT, "12"), Working(EXIT, "7.99999"))),
    Case("an exit of every whole lot", "20.000005", (Working(EXIT, "20"),), protected=True),
    Case("an exit being canceled", "20", (Working(EXIT, "20", canceling=True),)),
    Case("less than a lot, nothing working", "0.000005"),
    Case("guarded by the monitor", "20", guarded=True, protected=True),
]


def _engine() -> Engine:
    engine, _venue, _clock, _bus = asyncio.run(build(ScriptedAgent(lambda i, view: [])))
    return engine


def _order(acct: AccountRuntime, n: int, w: Working) -> Order:
    return Order(
        client_id=f"t-{n}",
        account_id=acct.account_id,
        symbol=w.symbol,
        side=Side.SELL,
        type=ROLE_TYPES[w.role],
        qty=D(w.qty),
        role=w.role,
        filled_qty=D(w.filled),
    )


@pytest.mark.parametrize("case", CASES, ids=[c.about for c in CASES])
def test_a_position_is_protected_only_by_what_can_sell_all_of_it(case: Case) -> None:
    engine = _engine()
    acct = engine.accounts["a1"]
    position = Position(SYMBOL, "scripted", "t-entry", 0, D(98), D(104), qty=D(case.held))
    for n, working in enumerate(case.orders):
        order = _order(acct, n, working)
        acct.orders[order.client_id] = order
        if working.canceling:
            acct.pending_cancel.add(order.client_id)
    if case.guarded:
        acct.bracket_book.hold(SYMBOL)
    assert engine.executor.is_protected(acct, position) is case.protected


def test_exits_and_locked_coins_are_counted_on_their_own_symbol_only() -> None:
    engine = _engine()
    acct = engine.accounts["a1"]
    orders = [
        Working(EXIT, "3", symbol="ETH/USDT"),
        Working(EXIT, "2"),
        Working(EXIT, "1", filled="0.5"),
        Working(STOP, "4", symbol="ETH/USDT", canceling=True),
        Working(STOP, "5", canceling=True),
        Working(TAKE, "6", filled="1", canceling=True),
        Working(STOP, "7"),  # not asked to cancel: not locked by a cancel
        Working(EXIT, "8", canceling=True),  # an exit is no protective order
    ]
    for n, working in enumerate(orders):
        order = _order(acct, n, working)
        acct.orders[order.client_id] = order
        if working.canceling:
            acct.pending_cancel.add(order.client_id)
    assert exiting(acct, SYMBOL) == D("2.5")
    assert exiting(acct, "ETH/USDT") == D(3)
    assert locked_by_cancels(acct, SYMBOL) == D(10)
    assert locked_by_cancels(acct, "ETH/USDT") == D(4)


@pytest.mark.parametrize(
    ("held", "qty", "stop", "dust"),
    [
        # The lot is 0.00001 and the smallest order 5 USDT, valued at the stop-loss.
        ("0.00001", None, "1000000", False),  # one lot worth 10: an order can sell it
        ("0.000009", None, "1000000", True),  # less than a lot, though worth 9
        ("0.05", None, "100", False),  # worth exactly 5 at the stop
        ("0.04999", None, "100", True),  # worth 4.999
        ("20", "0.01", "100", True),  # the part asked about is worth 1
        ("0.01", "20", "100", False),  # the part asked about, not the position
    ],
)
def test_dust_is_what_no_order_can_sell(held: str, qty: str | None, stop: str, dust: bool) -> None:
    protector = _engine().executor.protection
    position = Position(SYMBOL, "scripted", "t-entry", 0, D(stop), D(stop) * 2, qty=D(held))
    assert protector.is_dust(position, None if qty is None else D(qty)) is dust

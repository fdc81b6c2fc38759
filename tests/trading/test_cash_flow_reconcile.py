"""Cash flows found by reconciliation on an exchange in memory: a withdrawal, a deposit and the
investor's own trades are told in words and trip no breaker; the limits still count the
strategy's own losses, across a restart; a withdrawal that leaves too little for the open
position's stop is told, and the position keeps its stop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from decimal import Decimal
from typing import Any, TypeVar

from rampart.domain.accounts import TradingState
from rampart.domain.events import BreakerTripped
from rampart.domain.orders import OrderRole, Side
from rampart.notices.money_notices import notice_for

from .reconcile_rig import START, SYMBOL, Rig, rig

D = Decimal
T = TypeVar("T")
NOON = 12 * 3_600_000 + 3 * 60_000  # 12:03 on the rig's day


def run(scenario: Callable[[], Coroutine[Any, Any, T]]) -> T:
    return asyncio.run(scenario())


async def guard(r: Rig, mark: str = "100") -> None:
    """A price update: the guard measures the account (its breakers included)."""
    r.engine.marks[SYMBOL] = D(mark)
    await r.engine.guard.account(r.acct, SYMBOL, r.clock.now_ms())


def trips(r: Rig) -> list[BreakerTripped]:
    return [e for e in r.events if isinstance(e, BreakerTripped)]


def test_a_withdrawal_of_45_6_percent_is_told_and_trips_nothing() -> None:
    async def go() -> Rig:
        r = await rig()
        await guard(r)
        r.at(NOON)
        r.x.cash["a1"] -= D("4560")
        await r.reconcile()
        await guard(r)
        return r

    r = run(go)
    assert trips(r) == [] and r.acct.state is TradingState.ACTIVE
    (told,) = r.repairs("cash_flow")
    assert told.detail.startswith(
        "A withdrawal of 4,560 USDT seen at 12:03 UTC. It is the investor's own money, not the "
        "strategy's result"
    )
    notice = notice_for(told)
    assert notice is not None
    assert "withdrawal of 4,560 USDT seen at 12:03 UTC" in notice.investor
    assert "withdrawal of 4,560 USDT seen at 12:03 UTC" in notice.operator
    assert r.acct.breakers.peak_equity == D("5440")


def test_a_hand_buy_of_836_usdt_and_its_sale_trip_nothing() -> None:
    async def go() -> Rig:
        r = await rig()
        await guard(r)
        r.at(START + 60_000)
        r.x.trade_by_hand("a1", Side.BUY, D("8.37"), D("100"))
        await r.reconcile()
        await guard(r)
        r.at(START + 120_000)
        r.x.trade_by_hand("a1", Side.SELL, D("8.37"), D("101"))
        await r.reconcile()
        await guard(r)
        return r

    r = run(go)
    assert trips(r) == [] and r.acct.state is TradingState.ACTIVE
    bought, sold = (e.detail for e in r.repairs("cash_flow"))
    assert bought.startswith("A purchase by hand of 837 USDT seen at 00:03 UTC.")
    assert sold.startswith("A sale by hand of 845.37 USDT seen at 00:04 UTC.")


def test_the_strategy_loss_after_a_withdrawal_still_trips_after_a_restart() -> None:
    async def go() -> Rig:
        r = await rig()
        await guard(r)
        r.at(NOON)
        r.x.cash["a1"] -= D("4560")
        await r.reconcile()
        await guard(r)
        await r.restart()
        assert [f.amount for f in r.acct.breakers.flows] == [D("-4560")]
        # Losing 5 % of what is left (the strategy's own), as a fee the venue charged.
        r.acct.ledger.cash -= D("272")
        r.x.cash["a1"] -= D("272")
        await guard(r)
        return r

    r = run(go)
    (daily,) = [t for t in trips(r) if t.breaker == "daily_loss"]
    assert "lost 272 USDT (5 %) today" in daily.message
    assert "withdrawal of 4,560 USDT seen at" in daily.message
    assert r.acct.state is TradingState.HALTED


def test_a_withdrawal_leaving_too_little_for_the_stop_is_told_and_the_position_kept() -> None:
    async def go() -> Rig:
        r = await rig()
        await r.protected(fee="2")  # 20 at 100, stop 98: 42 USDT lost at the stop
        r.at(START + 60_000)
        r.x.cash["a1"] -= D("7998")  # every free dollar: 2,000 USDT of equity left
        await r.reconcile()
        await guard(r, "98.05")  # 41 lost: past 2 % of 2,000, short of the stop
        return r

    r = run(go)
    (told,) = r.repairs("cash_flow")
    assert "What is left (2,000 USDT) is too little for the open positions' stops" in told.detail
    assert "BTC/USDT (42 USDT)" in told.detail and "moderate profile's 2 % per" in told.detail
    assert not r.acct.paused and r.acct.state is TradingState.ACTIVE
    assert SYMBOL in r.acct.ledger.positions
    assert (OrderRole.STOP_LOSS, D(20), D("98.00")) in r.open_on_exchange()

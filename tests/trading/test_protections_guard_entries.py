"""A protection an agent declares guards its entries only: whatever its trades and the time, no
protection ever refuses a stop move, a reduction or an exit — so a losing account can still
tighten a trailing stop and scale out — and an entry (an open or an addition) is refused exactly
when the protection itself says so. Driven by hypothesis over every protection kind, its
settings, the account's closed trades and every action kind."""

from __future__ import annotations

from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rampart.agents.protections import KINDS, CooldownAfterStop, DrawdownLock, PairLock
from rampart.domain.intents import Intent, IntentAction
from rampart.domain.orders import Side
from rampart.trading.agent_protections import AgentProtections

from .helpers import SYMBOL, candle

TF = 300_000
OTHER = "ETH/USDT"
ENTRIES = {IntentAction.OPEN, IntentAction.ADD}
CALM = (100, 100.5, 99.5, 100)

protections = st.one_of(
    st.builds(CooldownAfterStop, candles=st.integers(1, 50)),
    st.builds(
        PairLock, losses=st.integers(1, 4), within=st.integers(1, 100), candles=st.integers(1, 50)
    ),
    st.builds(
        DrawdownLock,
        max_drawdown=st.floats(0.01, 0.5),
        within=st.integers(1, 100),
        candles=st.integers(1, 50),
    ),
)
trades = st.lists(
    st.builds(
        SimpleNamespace,
        symbol=st.sampled_from([SYMBOL, OTHER]),
        closed_at=st.integers(0, 200).map(lambda k: k * TF),
        pnl=st.decimals(-500, 500, places=2),
        exit_reason=st.sampled_from(["stop_loss", "take_profit", "signal"]),
    ),
    max_size=12,
).map(lambda rows: sorted(rows, key=lambda t: t.closed_at))


def _book(rule: object, closed: list[Any], capital: Decimal) -> tuple[AgentProtections, Any]:
    book = AgentProtections()
    book.add("a1", SimpleNamespace(name="mine", protections=(rule,)))
    ledger = SimpleNamespace(capital=capital, realized_pnl=Decimal(0))
    acct = SimpleNamespace(account_id="a1", ledger=ledger)
    for trade in closed:
        book.on_trade_closed(acct, trade)  # type: ignore[arg-type]
    return book, acct


def _intent(action: IntentAction) -> Intent:
    side = Side.BUY if action in ENTRIES else Side.SELL
    stop = Decimal(99) if action is not IntentAction.CLOSE else Decimal(0)
    return Intent("a1", SYMBOL, side, action, Decimal(100), stop, Decimal(0), Decimal("0.5"))


@given(
    rule=protections,
    closed=trades,
    later=st.integers(0, 80),
    capital=st.decimals(1_000, 100_000, places=0),
    action=st.sampled_from(list(IntentAction)),
)
def test_a_protection_refuses_entries_only_and_exactly_when_it_holds(
    rule: Any, closed: list[Any], later: int, capital: Decimal, action: IntentAction
) -> None:
    book, acct = _book(rule, closed, capital)
    now = (closed[-1].closed_at if closed else 0) + later * TF
    said = book.refusal(acct, _intent(action), now, [candle(0, *CALM)])
    if action not in ENTRIES:
        assert said is None
        return
    holds = rule.refusal(tuple(closed), SYMBOL, now, TF, capital)
    assert (said is None) == (holds is None)
    if said is not None:
        assert said[1] == f"Not opened: {holds}."


LOCKED = {
    CooldownAfterStop: (CooldownAfterStop(candles=10), "stop_loss", Decimal(-1)),
    PairLock: (PairLock(losses=1, within=10, candles=10), "signal", Decimal(-1)),
    DrawdownLock: (
        DrawdownLock(max_drawdown=0.1, within=10, candles=10),
        "signal",
        Decimal(-2_000),
    ),
}


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.__name__)
@pytest.mark.parametrize("action", list(IntentAction), ids=lambda a: a.value)
def test_a_locked_account_still_moves_its_stop_reduces_and_exits(
    kind: type, action: IntentAction
) -> None:
    rule, why, pnl = LOCKED[kind]
    gain = SimpleNamespace(symbol=SYMBOL, closed_at=0, pnl=Decimal(1_000), exit_reason="signal")
    loss = SimpleNamespace(symbol=SYMBOL, closed_at=TF, pnl=pnl, exit_reason=why)
    book, acct = _book(rule, [gain, loss], Decimal(10_000))
    said = book.refusal(acct, _intent(action), 2 * TF, [candle(0, *CALM)])
    assert (said is not None) == (action in ENTRIES), said

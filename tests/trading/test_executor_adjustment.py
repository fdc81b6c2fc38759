"""A sell the position cannot take, booked against an earlier adjustment.

Reconciliation that finds coins gone from the venue with no trade to say how books them as
sold at an assumed price and remembers the quantity (an adjustment). When the real fill turns
up later, it is booked against that adjustment: stored, published, the PnL corrected by what
the real price and fee say, and the rest of the adjustment kept for the next fill. A sell no
adjustment is large enough for is unexplained: stored, kept out of the ledger, and the account
goes close-only with an incident naming the order.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal

from rampart.domain.events import (
    AccountStateChanged,
    Event,
    FillBooked,
    ReconciliationRepaired,
    ReportUnexplained,
)
from rampart.domain.fills import Fill, Liquidity
from rampart.domain.orders import OrderRole, Side
from rampart.domain.positions import Adjustment
from rampart.trading.account import AccountRuntime
from rampart.trading.engine import Engine

from .helpers import SYMBOL, ScriptedAgent, build

D = Decimal
ENTRY = "a1-entry"


def _fill(fill_id: str, side: Side, qty: str, price: str, fee: str = "0", ts: int = 5) -> Fill:
    client = "" if fill_id == "adj" else f"{fill_id}-order"
    return Fill(fill_id, client, "a1", SYMBOL, side, D(qty), D(price), D(fee), Liquidity.TAKER, ts)


async def _adjusted() -> tuple[Engine, AccountRuntime, list[Event]]:
    """An account whose 10 coins reconciliation took out at an assumed 100."""
    engine, _venue, _clock, bus = await build(ScriptedAgent(lambda i, view: []))
    events: list[Event] = []
    bus.subscribe(events.append)
    acct = engine.accounts["a1"]
    ex = engine.executor
    ex.hold_protection.add("a1")  # being reconciled: no bracket is placed meanwhile
    await ex.book_fill(acct, _fill("b1", Side.BUY, "10", "100"), OrderRole.ENTRY, "s", ENTRY)
    acct.add_adjustment(Adjustment(SYMBOL, D(10), D(100), 1))
    await ex.book_fill(acct, _fill("adj", Side.SELL, "10", "100"), OrderRole.EXIT, "s", ENTRY)
    events.clear()
    return engine, acct, events


def _book(engine: Engine, acct: AccountRuntime, fill: Fill) -> None:
    asyncio.run(engine.executor.book_fill(acct, fill, OrderRole.STOP_LOSS, "s", ENTRY))


def test_a_late_fill_corrects_the_pnl_by_its_real_price_and_fee_and_keeps_the_rest() -> None:
    engine, acct, events = asyncio.run(_adjusted())
    cash, pnl, fees = acct.ledger.cash, acct.ledger.realized_pnl, acct.ledger.fees_paid
    fill = _fill("f1", Side.SELL, "4", "103", fee="0.1", ts=7)
    _book(engine, acct, fill)
    assert SYMBOL not in acct.ledger.positions  # nothing reopened, nothing sold twice
    assert acct.ledger.cash - cash == D("11.9")  # 4 × (103 − 100) − 0.1
    assert acct.ledger.realized_pnl - pnl == D("11.9")
    assert acct.ledger.fees_paid - fees == D("0.1")
    assert acct.fill_seen("f1")  # stored: a second report of it is booked once
    assert acct.adjustments[SYMBOL] == [Adjustment(SYMBOL, D(6), D(100), 1)]
    assert acct.close_only == ""
    booked = [e for e in events if isinstance(e, FillBooked)]
    assert [(e.ts, e.fill, e.role, e.strategy) for e in booked] == [(7, fill, "stop_loss", "s")]
    (repaired,) = [e for e in events if isinstance(e, ReconciliationRepaired)]
    assert (repaired.ts, repaired.account_id, repaired.kind) == (7, "a1", "adjustment_explained")
    assert (repaired.client_id, repaired.symbol) == ("f1-order", SYMBOL)
    assert repaired.detail == (
        f"4 {SYMBOL} left the books earlier at an assumed 100; this fill says 103 with fee "
        "0.1: realised PnL corrected by 11.9."
    )
    assert not [e for e in events if isinstance(e, ReportUnexplained)]


def test_the_last_of_an_adjustment_is_explained_and_nothing_is_left_to_explain() -> None:
    engine, acct, events = asyncio.run(_adjusted())
    pnl = acct.ledger.realized_pnl
    _book(engine, acct, _fill("f1", Side.SELL, "4", "103"))
    _book(engine, acct, _fill("f2", Side.SELL, "6", "99"))
    assert acct.ledger.realized_pnl - pnl == D(12) - D(6)
    assert SYMBOL not in acct.adjustments
    assert acct.close_only == ""
    kinds = [e.kind for e in events if isinstance(e, ReconciliationRepaired)]
    assert kinds == ["adjustment_explained", "adjustment_explained"]


def test_a_sell_larger_than_any_adjustment_is_unexplained_and_left_out_of_the_ledger() -> None:
    engine, acct, events = asyncio.run(_adjusted())
    cash, pnl = acct.ledger.cash, acct.ledger.realized_pnl
    fill = _fill("f1", Side.SELL, "11", "103", ts=9)
    _book(engine, acct, fill)
    assert (acct.ledger.cash, acct.ledger.realized_pnl) == (cash, pnl)
    assert acct.adjustments[SYMBOL] == [Adjustment(SYMBOL, D(10), D(100), 1)]  # untouched
    assert acct.fill_seen("f1")  # stored all the same: it happened on the venue
    booked = [e for e in events if isinstance(e, FillBooked)]
    assert [(e.fill, e.role) for e in booked] == [(fill, "stop_loss")]
    (unexplained,) = [e for e in events if isinstance(e, ReportUnexplained)]
    assert (unexplained.client_id, unexplained.symbol) == ("f1-order", SYMBOL)
    assert unexplained.detail == f"sell of 11 {SYMBOL} exceeds the position of 0"
    assert "f1-order" in acct.close_only and acct.unexplained_order == "f1-order"
    assert [e.kind for e in events if isinstance(e, ReconciliationRepaired)] == [
        "report_unexplained"
    ]
    assert len([e for e in events if isinstance(e, AccountStateChanged)]) == 1

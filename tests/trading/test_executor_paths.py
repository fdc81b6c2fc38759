"""The executor's less travelled paths: a trade's other orders canceled but never its OCO
partner, an entry's bracket forgotten with the entry, protection that fails or is asked for
while another drain runs, a report whose booking raises, dust written off, and what a fill
booked without an order (reconciliation's) carries into the position and the trade.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal

from rampart.domain.events import Event, PositionChanged, ReportUnexplained, TradeClosed
from rampart.domain.fills import Fill, Liquidity
from rampart.domain.orders import Order, OrderRole, OrderStatus, OrderType, Side
from rampart.trading.account import AccountRuntime, Bracket
from rampart.trading.bracket import Refusal
from rampart.trading.engine import Engine
from rampart.trading.ports import VenueReport
from tests.log_lines import every_log_line

from .helpers import SYMBOL
from .test_executor_reports import _logged
from .test_executor_sending import NOW, AnsweringVenue, _engine

D = Decimal
OTHER = "ETH/USDT"


def _fill(fill_id: str, side: Side, qty: str, client_id: str = "", symbol: str = SYMBOL) -> Fill:
    return Fill(fill_id, client_id, "a1", symbol, side, D(qty), D(100), D(0), Liquidity.TAKER, NOW)


def _order(client_id: str, role: OrderRole, group: str | None, symbol: str = SYMBOL) -> Order:
    kind = OrderType.STOP_MARKET if role is OrderRole.STOP_LOSS else OrderType.LIMIT
    return Order(
        client_id=client_id,
        account_id="a1",
        symbol=symbol,
        side=Side.SELL,
        type=kind,
        qty=D(5),
        role=role,
        price=D(110),
        stop_price=D(90),
        oco_group=group,
    )


async def _holding(qty: str = "10") -> tuple[Engine, AnsweringVenue, list[Event], AccountRuntime]:
    """Account a1 holding ``qty`` bought at 100 by entry ``en`` (stop 95, target 110), with
    no bracket placed yet (being reconciled)."""
    engine, venue, events = await _engine()
    acct = engine.accounts["a1"]
    acct.brackets["en"] = Bracket(D(95), D(110))
    engine.executor.hold_protection.add("a1")
    await engine.executor.book_fill(acct, _fill("b1", Side.BUY, qty), OrderRole.ENTRY, "s", "en")
    events.clear()
    return engine, venue, events, acct


def test_a_closed_trade_cancels_its_other_orders_but_leaves_the_oco_partner_to_the_venue() -> None:
    async def scenario() -> tuple[AnsweringVenue, list[Event]]:
        engine, venue, events, acct = await _holding()
        for order in (
            _order("t1", OrderRole.TAKE_PROFIT, "g1"),  # the filled stop's partner
            _order("s2", OrderRole.STOP_LOSS, "g2"),
            _order("t2", OrderRole.TAKE_PROFIT, "g2"),
            _order("o1", OrderRole.STOP_LOSS, "g3", symbol=OTHER),
        ):
            await engine.executor.submit(acct, order)
        # An exit the books hold as working (this venue would fill it at once).
        engine.executor.register(acct, _order("x1", OrderRole.EXIT, None))
        await engine.executor.drain()
        await engine.executor.book_fill(
            acct, _fill("s1", Side.SELL, "10", "s1"), OrderRole.STOP_LOSS, "s", "en", oco_group="g1"
        )
        return venue, events

    venue, events = asyncio.run(scenario())
    assert venue.cancels == ["s2", "t2", "x1"]
    (closed,) = [e for e in events if isinstance(e, TradeClosed)]
    assert closed.ts == NOW == closed.trade.closed_at


def test_an_entry_ended_unfilled_takes_its_bracket_with_it_and_a_partly_filled_one_keeps_it() -> (
    None
):
    async def scenario() -> AccountRuntime:
        engine, venue, _events = await _engine()
        acct = engine.accounts["a1"]
        for client_id in ("e1", "e2"):
            entry = Order(client_id, "a1", SYMBOL, Side.BUY, OrderType.LIMIT, D(1), OrderRole.ENTRY)
            entry.price = D(99)
            acct.brackets[client_id] = Bracket(D(95), D(110))
            await engine.executor.submit(acct, entry)
        await engine.executor.drain()
        part = Fill("p1", "e2", "a1", SYMBOL, Side.BUY, D("0.5"), D(99), D(0), Liquidity.MAKER, NOW)
        venue._listener(VenueReport("a1", "e2", OrderStatus.PARTIALLY_FILLED, NOW, part))
        await engine.executor.drain()
        acct.pending_cancel.update({"e1", "e2"})  # their cancels were asked for
        for client_id in ("e1", "e2"):
            venue._listener(VenueReport("a1", client_id, OrderStatus.CANCELED, NOW))
        await engine.executor.drain()
        return acct

    acct = asyncio.run(scenario())
    assert "e1" not in acct.brackets
    assert acct.brackets["e2"] == Bracket(D(95), D(110))  # its half-position still needs it
    assert acct.pending_cancel == set()
    assert "e1" not in acct.orders and "e2" not in acct.orders


def test_protection_that_raises_is_logged_and_the_position_left_to_the_monitor() -> None:
    async def nonsense(stop_loss: Order, take_profit: Order) -> None:
        raise RuntimeError("the venue answered nonsense")

    async def scenario() -> tuple[AccountRuntime, list[dict[str, object]], bool]:
        engine, venue, _events = await _engine()
        venue.submit_oco = nonsense  # type: ignore[method-assign]
        acct = engine.accounts["a1"]
        entry = Order("en", "a1", SYMBOL, Side.BUY, OrderType.LIMIT, D(10), OrderRole.ENTRY)
        entry.price = D(100)
        acct.brackets["en"] = Bracket(D(95), D(110))
        await engine.executor.submit(acct, entry)
        with every_log_line() as logs:
            venue.fill("en", D(10))
            await engine.executor.drain()
        return acct, logs, engine.executor.has_work()

    acct, logs, work = asyncio.run(scenario())
    assert _logged(logs, "protection_failed")[0] | {"exc_info": True} == {
        "account_id": "a1",
        "symbol": SYMBOL,
        "exc_info": True,
    }
    assert acct.guarded == {SYMBOL}
    assert work is False


def test_protection_asked_for_during_another_drain_is_given_by_the_next_one() -> None:
    async def scenario() -> tuple[AnsweringVenue, bool, bool]:
        engine, venue, _events, acct = await _holding()
        engine.executor.hold_protection.clear()
        ex = engine.executor
        ex._draining = True  # another task's drain is awaiting the venue
        await ex.ensure_protection(acct, SYMBOL)
        ex._draining = False
        before = ex.has_work()
        await ex.drain()
        return venue, before, ex.has_work()

    venue, before, after = asyncio.run(scenario())
    assert before is True and after is False
    roles = sorted(o.role.value for o in venue.open.values())
    assert roles == ["stop_loss", "take_profit"]


def test_a_report_whose_booking_raises_is_an_incident_naming_the_order() -> None:
    async def scenario() -> tuple[Engine, list[Event]]:
        engine, venue, events = await _engine()
        acct = engine.accounts["a1"]
        await engine.executor.submit(acct, _order("t9", OrderRole.TAKE_PROFIT, None))
        await engine.executor.drain()
        bad = _fill("z", Side.SELL, "0", "t9")  # a fill of nothing: the order cannot take it
        venue._listener(VenueReport("a1", "t9", OrderStatus.PARTIALLY_FILLED, NOW, bad))
        await engine.executor.drain()
        return engine, events

    engine, events = asyncio.run(scenario())
    (unexplained,) = [e for e in events if isinstance(e, ReportUnexplained)]
    assert (unexplained.account_id, unexplained.client_id) == ("a1", "t9")
    assert (unexplained.symbol, unexplained.detail) == (None, "fill quantity must be positive")
    assert engine.accounts["a1"].unexplained_order == "t9"


def test_unmatched_reports_keep_the_last_thousand() -> None:
    async def scenario() -> Engine:
        engine, venue, _events = await _engine()
        for i in range(1001):
            venue._listener(VenueReport("a1", f"ghost{i}", OrderStatus.CANCELED, NOW))
        await engine.executor.drain()
        return engine

    kept = asyncio.run(scenario()).executor.unmatched_reports
    assert len(kept) == 1000
    assert (kept[0].client_id, kept[-1].client_id) == ("ghost1", "ghost1000")


def test_dust_is_written_off_at_the_clocks_time_with_its_refusal_forgotten() -> None:
    async def scenario() -> tuple[AccountRuntime, list[Event], list[dict[str, object]]]:
        engine, _venue, events, acct = await _holding("0.00001")
        acct.bracket_book.hold(SYMBOL)
        acct.bracket_book.of(SYMBOL).refusal = Refusal(D("0.00001"), 1, 1, "g1")
        acct.bracket_book.of(OTHER).refusal = Refusal(D(1), 1, 1, "g2")
        engine.clock.set(NOW + 60_000)  # type: ignore[attr-defined]
        with every_log_line() as logs:
            await engine.executor.retire_dust(acct, SYMBOL)
        return acct, events, logs

    acct, events, logs = asyncio.run(scenario())
    assert SYMBOL not in acct.ledger.positions and acct.ledger.dust[SYMBOL] == D("0.00001")
    assert SYMBOL not in acct.guarded
    book = acct.bracket_book
    assert [s for s in book if book.refusal(s) is not None] == [OTHER]
    changes = [e for e in events if isinstance(e, PositionChanged)]
    assert [(e.ts, e.account_id, e.symbol, e.position) for e in changes] == [
        (NOW + 60_000, "a1", SYMBOL, None)
    ]
    (closed,) = [e.trade for e in events if isinstance(e, TradeClosed)]
    assert closed.closed_at == NOW + 60_000
    assert _logged(logs, "dust_retired") == [{"account_id": "a1", "symbol": SYMBOL}]


def test_a_fill_booked_without_a_bracket_carries_its_entry_and_exit_reason() -> None:
    async def scenario() -> tuple[AccountRuntime, list[Event], object]:
        engine, _venue, events = await _engine()
        acct = engine.accounts["a1"]
        engine.executor.hold_protection.add("a1")
        ex = engine.executor
        await ex.book_fill(acct, _fill("b1", Side.BUY, "2"), OrderRole.ENTRY, "s", "en-7")
        position = acct.ledger.positions[SYMBOL]
        await ex.book_fill(
            acct, _fill("x", Side.SELL, "2"), OrderRole.EXIT, "s", "en-7", exit_reason="by hand"
        )
        return acct, events, position

    _acct, events, position = asyncio.run(scenario())
    assert position.entry_client_id == "en-7"  # type: ignore[attr-defined]
    assert (position.stop_loss, position.take_profit) == (0, 0)  # type: ignore[attr-defined]
    (closed,) = [e.trade for e in events if isinstance(e, TradeClosed)]
    assert (closed.entry_client_id, closed.exit_reason) == ("en-7", "by hand")

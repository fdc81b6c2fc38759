"""What booking a fill leaves for the records besides the ledger: the position's change
published at the fill's own time (the trade history and the panel order by it), and the log
line that explains a late fill booked against reconciliation's adjustment (an operator follows
an order through the log by its client id and account).
"""

from __future__ import annotations

import asyncio
from decimal import Decimal

from rampart.domain.events import Event, PositionChanged
from rampart.domain.orders import OrderRole, Side
from rampart.domain.positions import Position
from tests.log_lines import every_log_line

from .held import held
from .helpers import SYMBOL
from .test_executor_adjustment import _adjusted, _book, _fill
from .test_executor_reports import _logged

D = Decimal


def test_a_position_change_is_published_at_the_time_of_its_fill() -> None:
    async def scenario() -> list[Event]:
        engine, venue = await held("10")
        events: list[Event] = []
        engine.bus.subscribe(events.append)
        (stop,) = venue.working(OrderRole.STOP_LOSS)
        venue.now = 7_000  # the venue's time of the trade, not the engine's clock (0)
        venue.price = D(98)
        venue.fill(stop, D(4))
        await engine.executor.drain()
        return events

    changes = [e for e in asyncio.run(scenario()) if isinstance(e, PositionChanged)]
    assert [(e.ts, e.account_id, e.symbol) for e in changes] == [(7_000, "a1", SYMBOL)]
    assert isinstance(changes[0].position, Position) and changes[0].position.qty == D(6)


def test_a_fill_booked_against_an_adjustment_is_logged_with_its_account_order_and_figures() -> None:
    engine, acct, _events = asyncio.run(_adjusted())
    with every_log_line() as logs:
        _book(engine, acct, _fill("f1", Side.SELL, "4", "103", fee="0.1", ts=7))
    (line,) = [entry for entry in logs if entry["event"] == "adjustment_explained"]
    assert line["log_level"] == "warning"
    assert _logged(logs, "adjustment_explained") == [
        {
            "account_id": "a1",
            "order": "f1-order",
            "detail": f"4 {SYMBOL} left the books earlier at an assumed 100; this fill says "
            "103 with fee 0.1: realised PnL corrected by 11.9.",
        }
    ]

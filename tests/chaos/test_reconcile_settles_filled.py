"""An entry filled on the exchange but ``submitted`` in the books is settled at the next pass:
the real ccxt client against the exchange simulator.

Found in a fleet run: six entries filled on the exchange, every trade of them in the books, stayed
``submitted`` for 50 minutes across four holders. Every pass found them filled on the exchange and
reported their trades again; each report was answered "already booked" and dropped whole, the
venue's final word with it, so the order never ended and the account's books never matched
(about 150 repair lines an order, and a BooksDifferUnrepaired P0 that never resolved)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from rampart.domain.events import Event, FillBooked
from rampart.domain.orders import OrderRole, OrderStatus
from rampart.trading.snapshots import order_to_dict

from .helpers import SYMBOL, chaos

HOLD = {"a1": {"every": 2, "hold": 100_000}}


def test_an_entry_filled_on_the_exchange_but_submitted_in_the_books_settles() -> None:
    async def go() -> None:
        async with chaos(HOLD) as rig:
            entries: list[Any] = []
            rig.bus.subscribe(
                lambda e: (
                    entries.append(e.order)
                    if type(e).__name__ == "OrderUpdated" and e.order.role is OrderRole.ENTRY
                    else None
                )
            )
            for _ in range(40):
                await rig.step()
                if SYMBOL in rig.eng.accounts["a1"].ledger.positions:
                    break
            pos = rig.eng.accounts["a1"].ledger.positions[SYMBOL]
            entry = entries[-1]
            assert entry.status is OrderStatus.FILLED
            snapshot = json.loads(json.dumps(rig.eng.snapshot()))
            # The books hold every trade of the entry, but the order itself as still submitted.
            books = snapshot["accounts"]["a1"]
            books["orders"].append(json.loads(json.dumps(_as_sent(entry.client_id, entries))))
            await rig.stop_engine()
            await rig.start_engine(HOLD, snapshot)
            acct = rig.eng.accounts["a1"]
            assert acct.orders[entry.client_id].status is OrderStatus.SUBMITTED
            after: list[Event] = []
            rig.bus.subscribe(after.append)
            report = await rig.reconcile(reason="interval")
            assert entry.client_id not in acct.orders, report.to_dict()  # terminal: settled
            assert not [e for e in after if isinstance(e, FillBooked)]  # nothing booked twice
            assert acct.ledger.positions[SYMBOL].qty == pos.qty
            assert report.matches, report.differences
            again = await rig.reconcile(reason="interval")
            assert again.matches and not again.repairs, again.to_dict()
            assert rig.truth() == []

    asyncio.run(go())


def _as_sent(client_id: str, seen: list[Any]) -> dict[str, Any]:
    """The entry as the books held it when it was acknowledged: submitted, nothing filled."""
    first = next(o for o in seen if o.client_id == client_id and o.status is OrderStatus.SUBMITTED)
    return order_to_dict(first)

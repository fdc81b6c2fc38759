"""Reconciliation reaching back more than 24 hours: Rampart away for a day and a half while the
investor traded by hand, more trades than one page; on restart the position's sale by hand is
found among them and booked as an external exit at its real price, not adjusted at a guess."""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal

from rampart.domain.events import Event, TradeClosed
from rampart.domain.orders import Side
from rampart_testkit.simulator.exchange import OrderRequest

from .helpers import SYMBOL, chaos

D = Decimal
HOLD = {"a1": {"every": 2, "hold": 100_000}}
HOUR = 3_600_000


def test_a_sale_by_hand_behind_a_day_and_more_than_a_page_of_trades_is_booked() -> None:
    async def go() -> None:
        # Fees in USDT, so the investor's buys and sells of the same size leave no coins apart.
        async with chaos(HOLD, charging=None) as rig:
            for _ in range(40):
                await rig.step()
                if SYMBOL in rig.eng.accounts["a1"].ledger.positions:
                    break
            pos = rig.eng.accounts["a1"].ledger.positions[SYMBOL]
            snapshot = json.loads(json.dumps(rig.eng.snapshot()))
            await rig.stop_engine()  # away
            ex = rig.sim.exchange
            api = next(a for a in ex.keys.values() if a.account_id == "a1")
            for order in list(ex.sub("a1").open.values()):  # the investor lifts the bracket,
                if order.is_open:
                    ex.cancel(api, SYMBOL, order)
            for i in range(520):  # trades by hand for 26 hours, over a page of trades,
                side = Side.BUY if i % 2 == 0 else Side.SELL
                ex.place(api, OrderRequest(SYMBOL, side, "MARKET", f"hand-{i}", qty=D("0.00013")))
                await rig.market(3)
            # and sells the position.
            ex.place(api, OrderRequest(SYMBOL, Side.SELL, "MARKET", "hand-sale", qty=pos.qty))
            sale = ex.trades["a1"][-1]
            assert ex.now_ms - pos.opened_at > 24 * HOUR
            after: list[Event] = []
            rig.bus.subscribe(after.append)
            await rig.start_engine(HOLD, snapshot)
            report = await rig.reconcile(reason="start")
            assert report.repairs["external_fill_booked"] == 1, report.to_dict()
            assert report.repairs["position_adjusted"] == 0, report.to_dict()
            (trade,) = [e.trade for e in after if isinstance(e, TradeClosed)]
            assert trade.exit_reason == "external" and trade.exit_price == sale.price
            assert rig.eng.accounts["a1"].ledger.positions == {}
            assert report.matches, report.differences
            assert rig.truth() == []
            assert rig.sim.context.errors[400] == 0  # every window one Binance accepts

    asyncio.run(go())

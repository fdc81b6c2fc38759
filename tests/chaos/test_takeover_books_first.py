"""A fresh holder's first pass (a shard's take, a start) books every trade made before it, by
exchange trade id, and covers every coin before its first candle. The real ccxt client against
the exchange simulator.

The holder's checkpoint is older than two entries and a filled leg of the first one's pair
(the last holder stopped without booking them): the take adopts the orders and books each of
their trades by its id, once, and the coins the second entry bought are under a stop before
any candle is traded."""

from __future__ import annotations

import asyncio
import json

from rampart.trading.reconcile.context import TAKEOVER
from rampart.trading.reconcile.reconciler import Reconciler
from rampart_testkit.soak import verify

from .helpers import SYMBOL, Chaos, chaos

HOLD = {"a1": {"every": 2, "hold": 100_000}}


async def _position(rig: Chaos) -> None:
    for _ in range(40):
        await rig.step()
        if SYMBOL in rig.eng.accounts["a1"].ledger.positions:
            return
    raise AssertionError("no position opened")


def _unbooked(rig: Chaos) -> set[str]:
    fill_ids = rig.eng.snapshot()["accounts"]["a1"]["fill_ids"]
    booked = {str(fid).rpartition(":")[2] for fid in fill_ids}
    return {str(t.trade_id) for t in rig.sim.exchange.trades["a1"]} - booked


def test_a_take_books_the_trades_made_after_the_checkpoint_by_id_before_trading() -> None:
    async def go() -> None:
        async with chaos(HOLD) as rig:
            older = json.loads(json.dumps(rig.eng.snapshot()))  # flat: before the entry
            await _position(rig)
            for _ in range(120):  # the exchange trades on after the last holder stopped
                await rig.market()
                if rig.sim_state()["open_orders"] == []:
                    break
            await _position(rig)  # and a second entry, its fills after the checkpoint too
            await rig.stop_engine()
            await rig.start_engine(HOLD, older)
            assert _unbooked(rig)
            report = await Reconciler().run(rig.eng, reason=TAKEOVER, verdict=False)
            await rig.sim.idle()
            assert _unbooked(rig) == set(), report.to_dict()
            guard = verify.Protection()
            guard.check(rig.eng, rig.sim.exchange)
            assert guard.unprotected == 0, guard.samples
            assert rig.truth() == []

    asyncio.run(go())

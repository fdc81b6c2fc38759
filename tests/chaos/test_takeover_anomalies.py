"""A takeover's adopted fills raise no anomaly; a real anomaly after it still does
(a fleet's alarms are true).

Found in a fleet run: AnomalyWidespread (P1) and about 40 AnomalyDetected opened in the fleet's
first minute and stayed open. A shard taken over (or a service started) books the fills made
while no one held its accounts, from the venue's history; each was judged against the market
as it was at the take, minutes or hours later, and every one the market had since moved away
from was "off the mark". Here three accounts trade on the exchange simulator through the real
ccxt client, the process goes away while the market moves about 1 %, and a fresh engine loads
the older checkpoint, warms on the candles since (as a worker's take does) and reconciles,
adopting 54 orders and booking 30 fills with an anomaly watch on its bus."""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal

from prometheus_client import CollectorRegistry

from rampart.config import load_settings
from rampart.domain.events import FillBooked
from rampart.domain.fills import Fill, Liquidity
from rampart.domain.orders import Side
from rampart.observability.anomaly_watch import TOPICS
from rampart.risk.anomalies import Anomaly, AnomalyKind
from rampart.wiring.anomalies import anomaly_watch

from .helpers import SYMBOL, chaos

ACCOUNTS = {f"a{n}": {"every": 2, "hold": 4} for n in (1, 2, 3)}
AWAY = 800
"""Candles (minutes) no one trades the accounts: the synthetic market ends about 1 % above
where the fills were made (the fill tolerance is 0.5 %)."""
KLINES = 5_000


def test_a_takeovers_adopted_fills_raise_no_anomaly_and_a_real_one_still_does() -> None:
    async def go() -> None:
        async with chaos(ACCOUNTS) as rig:
            await rig.step(3)
            snapshot = json.loads(json.dumps(rig.eng.snapshot()))
            since = rig.eng.last_candle_ts
            await rig.step(25)  # orders and fills after the checkpoint
            await rig.stop_engine()  # the holder is gone
            await rig.market(AWAY)
            await rig.start_engine(ACCOUNTS, snapshot)
            for candle in rig.sim.exchange.tape.klines(SYMBOL, since + 1, None, KLINES):
                rig.eng.warm(candle)  # the candles since the checkpoint, not traded
            found: list[Anomaly] = []
            watch = anomaly_watch(load_settings(), lambda: [rig.eng], CollectorRegistry())
            assert watch is not None
            watch.on_anomaly = found.append
            rig.bus.subscribe(watch.on_event, topics=TOPICS)
            adopted: list[FillBooked] = []
            rig.bus.subscribe(lambda e: adopted.append(e) if isinstance(e, FillBooked) else None)
            report = await rig.reconcile()
            assert report.repairs["order_adopted"] > 0 and len(adopted) >= 9, report.repairs
            # The market moved away from them since: judged against today's candle, they were.
            last = rig.sim.exchange.tape.last(SYMBOL)
            assert last is not None and any(
                abs(e.fill.price / Decimal(repr(last.close)) - 1) > Decimal("0.006")
                for e in adopted
            )
            assert found == [], found
            # A fill far off the market after the start is still one.
            await rig.step()
            now = rig.clock.now_ms()
            candle = rig.eng.history[SYMBOL][-1]
            price = Decimal(repr(candle.high)) * Decimal("1.05")
            fill = Fill(
                "x-a1", "c1", "a1", SYMBOL, Side.BUY, Decimal("0.01"), price, Decimal(0),
                Liquidity.TAKER, now,
            )  # fmt: skip
            rig.bus.publish(FillBooked(now, fill, "entry", "churn"))
            assert [(a.account_id, a.kind) for a in found] == [("a1", AnomalyKind.FILL_OFF_MARK)]

    asyncio.run(go())

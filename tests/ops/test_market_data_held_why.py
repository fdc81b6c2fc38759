"""MarketDataHeld says why a symbol is still held, from the guard through the
series to the incident, and the held gauge reads 0 again once the candles are settled."""

from __future__ import annotations

import asyncio

from rampart.domain.errors import VenueError
from rampart.market.second_reading import admit_checked
from rampart.observability.market_data_metrics import HELD_CANDLES
from rampart.wiring.quarantine import watch_guard
from tests.market.test_price_guard import SYM, bar, warmed
from tests.ops.alert_harness import Harness


async def _fails(symbol: str) -> float | None:
    raise VenueError("the ticker timed out, the order book failed, the trades failed")


def test_market_data_held_names_why_and_clears_when_settled() -> None:
    h = Harness(None)
    guard, close = warmed()
    watch_guard(guard, h.metrics.launch.market_data)

    async def held(i: int) -> None:
        await admit_checked(guard, _fails, bar(i, close * 0.001))

    h.evaluate()
    for i in range(60, 65):
        asyncio.run(held(i))
    h.advance(60)
    (fired,) = h.of("MarketDataHeld", "firing")
    assert "(no independent price: the ticker timed out, the order book failed" in fired.summary
    assert guard.second_reading(SYM, close) == ()  # the exchange's price: the print is rejected
    gauge = h.metrics.launch.market_data.held_candles
    series = [
        (sample.labels, sample.value)
        for metric in gauge.collect()
        for sample in metric.samples
        if sample.name == HELD_CANDLES and sample.labels.get("symbol") == SYM
    ]
    assert series == [({"symbol": SYM, "why": "nothing held"}, 0.0)]
    h.advance(60)
    assert h.of("MarketDataHeld", "resolved")

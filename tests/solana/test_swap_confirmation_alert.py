"""Plan 001's "<500ms transaction confirmation (p95)": SwapConfirmationSlow (P2) pages when the
landed swaps' p95 time from sending to confirmation passes ``alerts.levels.
swap_confirmation_p95_ms`` (500 ms) over 15 minutes, once 20 swaps landed; faster swaps, or too
few, page nobody."""

from __future__ import annotations

import asyncio

from rampart.clock import SimClock
from rampart.config import load_settings
from rampart.observability.alerts.engine import AlertEngine
from rampart.observability.alerts.overrides import rules_from_settings
from rampart.observability.metrics import Metrics
from rampart.observability.notify import CallbackNotifier, Notice


def _paged(confirm_s: float, swaps: int, **levels: float) -> list[tuple[str, str, str]]:
    settings = load_settings(alerts={"levels": levels})
    rule = next(r for r in rules_from_settings(settings) if r.name == "SwapConfirmationSlow")
    clock = SimClock(1_700_000_000_000)
    metrics = Metrics()
    notices: list[Notice] = []

    async def record(notice: Notice) -> None:
        notices.append(notice)

    engine = AlertEngine([rule], metrics, None, clock, CallbackNotifier(record), evaluate_every_s=5)
    asyncio.run(engine.evaluate(clock.now_ms()))  # the counters' first reading
    for _ in range(swaps):
        metrics.solana.swap("bags", "filled", confirm_s)
    for _ in range(6 * 12 + 1):  # past the rule's 5 minutes
        clock.advance(5_000)
        asyncio.run(engine.evaluate(clock.now_ms()))
    return [(n.rule, n.kind, n.severity) for n in notices]


def test_the_shipped_level_is_the_plans() -> None:
    assert load_settings(None).alerts.levels.swap_confirmation_p95_ms == 500


def test_slow_confirmations_page_and_fast_ones_do_not() -> None:
    assert _paged(0.8, 25) == [("SwapConfirmationSlow", "firing", "P2")]
    assert _paged(0.3, 25) == []
    assert _paged(0.8, 10) == []  # too few swaps for a verdict
    # The level is the operator's: 1 s tolerates what 500 ms pages on.
    assert _paged(0.8, 25, swap_confirmation_p95_ms=1000) == []

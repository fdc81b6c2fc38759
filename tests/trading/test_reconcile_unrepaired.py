"""Books that reconciliation cannot bring back to the exchange's: each pass whose repairs left
an account differing is counted in a row (BooksDiffer on the bus, the gauge the P0
BooksDifferUnrepaired reads, at 4); the first pass that matches says 0 once."""

from __future__ import annotations

import asyncio

from rampart.domain.events import BooksDiffer
from rampart.observability.alerts.rules import default_rules
from rampart.observability.metrics import Metrics

from .reconcile_rig import rig


def test_passes_in_a_row_are_counted_and_a_match_resets_them() -> None:
    async def go() -> tuple[list[BooksDiffer], list[float]]:
        r = await rig()
        metrics = Metrics()
        r.engine.bus.subscribe(metrics.on_event)
        gauge: list[float] = []
        r.venue.fail_orders = True  # a difference no repair can remove: the orders unreadable
        for _ in range(4):
            await r.reconcile()
            gauge.append(metrics.registry.get_sample_value(
                "rampart_reconciliation_unrepaired_passes", {"account": "a1"}) or 0)  # fmt: skip
        r.venue.fail_orders = False
        assert (await r.reconcile()).matches
        await r.reconcile()  # matching again: nothing more said
        gauge.append(metrics.registry.get_sample_value(
            "rampart_reconciliation_unrepaired_passes", {"account": "a1"}) or 0)  # fmt: skip
        return [e for e in r.events if isinstance(e, BooksDiffer)], gauge

    said, gauge = asyncio.run(go())
    assert [(e.account_id, e.passes) for e in said] == [("a1", n) for n in (1, 2, 3, 4, 0)]
    assert "could not be reconciled" in said[0].detail
    assert gauge == [1, 2, 3, 4, 0]
    (rule,) = [r for r in default_rules() if r.name == "BooksDifferUnrepaired"]
    assert rule.severity == "P0"
    assert [rule.holds(v) for v in gauge] == [False, False, False, True, False]

"""PositionUnprotected end to end: the exchange refuses a position's stop (Binance -2010), the
engine's monitor takes it over, and the alert engine on simulated time pages P1 after 5 s and
P0 after 60 s, once for the account and symbol, naming the exchange's reason; both resolve
when a stop rests again. The series is one per account and symbol, whatever reasons follow."""

from __future__ import annotations

import asyncio

from rampart.domain.events import ProtectionChanged
from rampart.observability.alerts.rules_protection import protection_rules
from rampart.observability.metrics import Metrics
from rampart.observability.protection_metrics import UNPROTECTED
from rampart.trading.engine import Engine
from rampart.trading.invariants import after_event
from tests.ops.alert_harness import Harness
from tests.trading.held import held
from tests.trading.helpers import SYMBOL
from tests.trading.test_protection_state import RefusingStops


def _series(metrics: Metrics) -> list[dict[str, str]]:
    return [
        dict(s.labels)
        for family in metrics.registry.collect()
        if family.name == UNPROTECTED
        for s in family.samples
    ]


def test_a_refused_stop_pages_p1_at_5_s_p0_at_60_s_and_resolves_when_a_stop_rests() -> None:
    venue = RefusingStops()
    venue.refuse = True
    metrics = Metrics()

    async def hold() -> Engine:
        engine, _ = await held("10", venue)
        engine.bus.subscribe(metrics.on_event)
        after_event(engine, engine.accounts["a1"], engine.clock.now_ms())
        return engine

    engine = asyncio.run(hold())
    h = Harness(None, protection_rules(), metrics=metrics)
    assert h.evaluate() == []
    h.advance(5)
    (p1,) = h.of("PositionUnprotected", "firing")
    assert p1.severity == "P1" and p1.labels == {
        "account": "a1",
        "symbol": SYMBOL,
        "reason": "insufficient_funds",
    }
    assert "reason: insufficient_funds" in p1.summary
    for _ in range(10):
        h.advance(5)
    assert h.of("PositionUnprotectedLong", "firing") == []
    h.advance(5)
    (p0,) = h.of("PositionUnprotectedLong", "firing")
    assert p0.severity == "P0" and len(h.of("PositionUnprotected", "firing")) == 1

    async def rest() -> None:
        venue.refuse = False
        acct = engine.accounts["a1"]
        acct.bracket_book.of(SYMBOL).refusal = None  # its wait is over
        await engine.executor.ensure_protection(acct, SYMBOL)
        await engine.executor.drain()
        after_event(engine, acct, engine.clock.now_ms())

    asyncio.run(rest())
    h.advance(5)
    assert {n.rule for n in h.notices if n.kind == "resolved"} == {
        "PositionUnprotected",
        "PositionUnprotectedLong",
    }
    assert _series(metrics) == []


def test_one_series_per_account_and_symbol_as_the_reason_changes() -> None:
    metrics = Metrics()
    for cover, reason in (
        ("monitor", "insufficient_funds"),
        ("monitor", "filter"),
        ("unprotected", "none"),
    ):
        metrics.on_event(ProtectionChanged(0, "a1", SYMBOL, cover, reason, "", 0))
        assert _series(metrics) == [{"account": "a1", "symbol": SYMBOL, "reason": reason}]
    metrics.on_event(ProtectionChanged(0, "a2", SYMBOL, "monitor", "x" * 100, "", 0))
    assert {s["reason"] for s in _series(metrics)} == {"none", "x" * 20}
    metrics.protection.keep_accounts({"a2"})
    assert [s["account"] for s in _series(metrics)] == ["a2"]
    metrics.on_event(ProtectionChanged(0, "a2", SYMBOL, "exchange", "", "", None))
    assert _series(metrics) == []

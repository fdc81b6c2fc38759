"""In a fleet each worker exports its own ``rampart_database_up``; one
worker whose database is down raises DatabaseDown though every other says up (the lowest
counts, as in the PromQL), and the signal falls back to 0 once that worker's is up again. Pins
``observability/alerts/database.py`` ``StoreDownSignal.compute`` (``min(ups) < 1``)."""

from __future__ import annotations

from rampart.observability.alerts.database import UP, StoreDownSignal
from rampart.observability.alerts.history import History, Samples
from rampart.observability.alerts.signals import View


def _reading(ups: dict[str, float], now_ms: int, history: History) -> float:
    signal = StoreDownSignal()
    samples: Samples = {UP: [({"process": name}, up) for name, up in ups.items()]}
    history.record(now_ms, samples, signal.counters())
    [reading] = signal.compute(View(now_ms, samples, history))
    return reading.value


def test_one_workers_database_down_is_not_hidden_by_the_others() -> None:
    history = History(keep_ms=600_000, process_label="process")
    assert _reading({"w1": 1.0, "w2": 1.0, "w3": 1.0}, 10_000, history) == 0.0
    assert _reading({"w1": 1.0, "w2": 0.0, "w3": 1.0}, 20_000, history) == 1.0
    assert _reading({"w1": 1.0, "w2": 1.0, "w3": 1.0}, 30_000, history) == 0.0
    assert "min(rampart_database_up) < bool 1" in StoreDownSignal().promql()

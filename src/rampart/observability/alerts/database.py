"""DatabaseDown's signal: the store is down now, or it has failed again and again lately.

A gauge alone misses a store that fails on and off: every write that lands between the failures
lifts ``rampart_database_up`` back to 1, so "down for 10 s" never holds while entries are refused
time after time. The failures are therefore also counted
(``rampart_database_failures_total``: refused writes and failed probes), and the signal reads 1
when either the gauge says down or at least ``flaps`` failures fell within ``window_s``; else 0.

PromQL: each half as a 0/1 vector (``< bool``, ``>= bool``), told apart by a ``part`` label so
``or`` keeps both, and ``max`` over them: the same 0/1 the service computes.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from rampart.observability.alerts.signals import Reading, View, increase_promql
from rampart.observability.launch_metrics import DB_FAILURES as FAILURES

UP = "rampart_database_up"


@dataclass(frozen=True, slots=True)
class StoreDownSignal:
    up: str = UP
    failures: str = FAILURES
    window_s: float = 60.0
    flaps: int = 3
    kind: str = "store_down"

    def compute(self, view: View) -> list[Reading]:
        ups = [value for _, value in view.series(self.up, {})]
        counted = view.increase(self.failures, self.window_s, {}, ()).get(())
        if not ups and counted is None:
            return []
        down = bool(ups) and min(ups) < 1
        flapping = counted is not None and counted >= self.flaps
        return [Reading({}, 1.0 if down or flapping else 0.0)]

    def promql(self) -> str:
        down = f'label_replace(min({self.up}) < bool 1, "part", "down", "", "")'
        count = increase_promql(self.failures, self.window_s, {})
        flapping = f'label_replace({count} >= bool {self.flaps}, "part", "flapping", "", "")'
        return f"max({down} or {flapping})"

    def counters(self) -> set[str]:
        return {self.failures}

    def window(self) -> float:
        return self.window_s

    def tuned(self, window_s: float | None, min_samples: int | None) -> StoreDownSignal:
        # ``min_samples`` is the number of failures that make a flapping store.
        return replace(
            self,
            window_s=self.window_s if window_s is None else window_s,
            flaps=self.flaps if min_samples is None else min_samples,
        )

    @property
    def min_samples(self) -> int:
        return self.flaps


__all__ = ["FAILURES", "UP", "StoreDownSignal"]

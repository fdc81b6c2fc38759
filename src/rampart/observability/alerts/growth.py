"""How much a gauge grew over a window, as a share of where it stood (MemoryGrowth: resident
memory up more than 5 % in an hour).

PromQL: ``(max(m) - max(m offset W)) / max(m offset W)``, written as a difference over the old
value rather than ``now / old - 1``: with whole byte counts the quotient is then the correctly
rounded share itself, so a growth of exactly 5 % reads 0.05 and not 0.05000000000000004 (the
exported unit tests sit exactly on the threshold). No value ``W`` ago (a process younger than
the window, a series that appeared since) gives no reading: a fresh start is never a growth.
A restart drops resident memory, so it reads as shrinking, never as growth.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from rampart.observability.alerts.signals import Reading, View, duration


@dataclass(frozen=True, slots=True)
class GrowthSignal:
    metric: str
    window_s: float
    kind: str = "growth"

    def compute(self, view: View) -> list[Reading]:
        now = [v for _, v in view.series(self.metric, {})]
        past = [
            v
            for (name, _), v in view.history.raw_at(view.now_ms - int(self.window_s * 1000)).items()
            if name == self.metric
        ]
        if not now or not past or max(past) <= 0:
            return []
        old = max(past)
        return [Reading({}, (max(now) - old) / old)]

    def promql(self) -> str:
        old = f"max({self.metric} offset {duration(self.window_s)})"
        return f"(max({self.metric}) - {old}) / {old}"

    def counters(self) -> set[str]:
        # Recorded with the counters: the history keeps each evaluation's raw values.
        return {self.metric}

    def window(self) -> float:
        return self.window_s

    def tuned(self, window_s: float | None, min_samples: int | None) -> GrowthSignal:
        return self if window_s is None else replace(self, window_s=window_s)


__all__ = ["GrowthSignal"]

"""How much a gauge grew over a window, as a share of where it stood (MemoryGrowth: resident
memory up more than 5 % in an hour).

PromQL: ``(max(m) - max(m offset W)) / max(m offset W)``, written as a difference over the old
value rather than ``now / old - 1``: with whole byte counts the quotient is then the correctly
rounded share itself, so a growth of exactly 5 % reads 0.05 and not 0.05000000000000004 (the
exported unit tests sit exactly on the threshold). No value ``W`` ago (a process younger than
the window, a series that appeared since) gives no reading: a fresh start is never a growth.
A restart drops resident memory, so it reads as shrinking, never as growth.

With ``by`` the growth is each group's own (past one machine: each process's, by the label
naming it), never one process's memory against another's.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from rampart.observability.alerts.signals import Labels, Reading, View, duration


@dataclass(frozen=True, slots=True)
class GrowthSignal:
    metric: str
    window_s: float
    by: tuple[str, ...] = ()
    kind: str = "growth"

    def _group(self, labels: dict[str, str]) -> Labels:
        return tuple((k, labels.get(k, "")) for k in self.by)

    def compute(self, view: View) -> list[Reading]:
        now: dict[Labels, float] = {}
        for labels, value in view.series(self.metric, {}):
            group = self._group(labels)
            now[group] = max(now.get(group, value), value)
        past: dict[Labels, float] = {}
        back = view.history.raw_at(view.now_ms - int(self.window_s * 1000))
        for (name, key), value in back.items():
            if name == self.metric:
                group = self._group(dict(key))
                past[group] = max(past.get(group, value), value)
        return [
            Reading(dict(group), (value - past[group]) / past[group])
            for group, value in now.items()
            if past.get(group, 0.0) > 0
        ]

    def promql(self) -> str:
        by = f" by ({', '.join(self.by)})" if self.by else ""
        old = f"max{by}({self.metric} offset {duration(self.window_s)})"
        return f"(max{by}({self.metric}) - {old}) / {old}"

    def counters(self) -> set[str]:
        # Recorded with the counters: the history keeps each evaluation's raw values.
        return {self.metric}

    def window(self) -> float:
        return self.window_s

    def tuned(self, window_s: float | None, min_samples: int | None) -> GrowthSignal:
        return self if window_s is None else replace(self, window_s=window_s)


__all__ = ["GrowthSignal"]

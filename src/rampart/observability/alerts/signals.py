"""What each alert rule measures, computed in-service from the Metrics registry and written as
the PromQL Prometheus evaluates for the same rule.

Windowed increases are reset-safe in both places. Every restart of Rampart starts its counters
at zero again, so ``m − m offset W`` would go negative (or miss a burst) across a restart; the
PromQL therefore uses ``increase()``, and the service computes the same thing from the samples
its alert engine records on the Clock at every evaluation: the sum of the rises between
consecutive samples, where a drop counts as a reset (the whole new value is the rise), as
``increase()`` does. Two differences remain, both small: Prometheus extrapolates the increase
to the window's edges from its scrapes (the service samples every evaluation and does not),
and a series born inside the window counts from zero in the service (it knows its counters
started at zero) but from its first scrape in Prometheus. Series whose labels are known are
created at zero up front for that reason (submissions, latencies, calls, halts, log errors);
an error kind first seen after a restart counts in Prometheus from its second scrape.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Protocol

from prometheus_client import CollectorRegistry

from rampart.observability.alerts.history import History, Labels, Samples


def take_snapshot(registry: CollectorRegistry) -> Samples:
    """Every sample in the registry now, ``_created`` timestamps left out."""
    found: Samples = {}
    for metric in registry.collect():
        for sample in metric.samples:
            if sample.name.endswith("_created"):
                continue
            found.setdefault(sample.name, []).append((dict(sample.labels), float(sample.value)))
    return found


@dataclass(frozen=True, slots=True)
class Reading:
    labels: dict[str, str]
    value: float


@dataclass(slots=True)
class View:
    """What signals compute from: the samples now, their history, and the Clock's time."""

    now_ms: int
    samples: Samples
    history: History

    @property
    def now_s(self) -> float:
        return self.now_ms / 1000

    def series(self, name: str, match: Mapping[str, str]) -> list[tuple[dict[str, str], float]]:
        return [
            (labels, value)
            for labels, value in self.samples.get(name, ())
            if all(labels.get(k) == v for k, v in match.items())
        ]

    def increase(
        self, name: str, window_s: float, match: Mapping[str, str], by: tuple[str, ...]
    ) -> dict[Labels, float]:
        """``sum by (by) (increase(m[window]))`` over the recorded samples, a drop counted as
        a reset; a series absent back then counts from 0. Needs ``samples`` recorded in
        ``history`` at ``now_ms`` (the alert engine records before it evaluates)."""
        now = self.history.at(self.now_ms)
        past = self.history.at(self.now_ms - int(window_s * 1000))
        sums: dict[Labels, float] = {}
        # Every series the history knows, not only those alive now: after a restart a series
        # reappears only at its first new count, yet its earlier rises are still in the window.
        for (series_name, key), total in now.items():
            labels = dict(key)
            if series_name != name or any(labels.get(k) != v for k, v in match.items()):
                continue
            group = tuple((k, labels.get(k, "")) for k in by)
            sums[group] = sums.get(group, 0.0) + total - past.get((series_name, key), 0.0)
        return sums


def fmt_number(value: float) -> str:
    """A number as PromQL and YAML read it back exactly."""
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return repr(float(value))


def human_duration(seconds: float) -> str:
    """Seconds in words for summaries: 300 → 5 minutes, 3600 → 1 hour, 90 → 90 seconds."""
    for unit, size in (("hour", 3600), ("minute", 60)):
        if seconds >= size and seconds % size == 0:
            count = int(seconds // size)
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return f"{seconds:g} seconds"


def duration(seconds: float) -> str:
    """Seconds as a Prometheus duration: 90 → 90s, 300 → 5m, 3600 → 1h."""
    ms = round(seconds * 1000)
    if ms == 0:
        return "0s"
    for unit, size in (("h", 3_600_000), ("m", 60_000), ("s", 1000)):
        if ms % size == 0:
            return f"{ms // size}{unit}"
    return f"{ms}ms"


def selector(name: str, match: Mapping[str, str], exclude: Mapping[str, tuple[str, ...]]) -> str:
    parts = [f'{k}="{v}"' for k, v in sorted(match.items())]
    parts += [f'{k}!~"{"|".join(vs)}"' for k, vs in sorted(exclude.items()) if vs]
    return f"{name}{{{','.join(parts)}}}" if parts else name


def _by(by: tuple[str, ...]) -> str:
    return f" by ({', '.join(by)})" if by else ""


class Signal(Protocol):
    # Read-only: the signals are frozen dataclasses.
    @property
    def kind(self) -> str: ...

    def compute(self, view: View) -> list[Reading]: ...

    def promql(self) -> str: ...

    def counters(self) -> set[str]:
        """Sample names whose history the signal needs."""
        ...

    def window(self) -> float: ...

    def tuned(self, window_s: float | None, min_samples: int | None) -> Signal: ...


@dataclass(frozen=True, slots=True)
class GaugeSignal:
    """``agg by (by) (gauge)``: DatabaseDown, EventLagHigh, KillSwitchEngaged, FeedDisconnected."""

    metric: str
    by: tuple[str, ...] = ()
    agg: str = "max"
    match: dict[str, str] = field(default_factory=dict)
    kind: str = "gauge"

    def compute(self, view: View) -> list[Reading]:
        groups: dict[Labels, list[float]] = {}
        for labels, value in view.series(self.metric, self.match):
            groups.setdefault(tuple((k, labels.get(k, "")) for k in self.by), []).append(value)
        combine = {"max": max, "min": min, "sum": sum}[self.agg]
        return [Reading(dict(g), float(combine(vs))) for g, vs in groups.items()]

    def promql(self) -> str:
        return f"{self.agg}{_by(self.by)} ({selector(self.metric, self.match, {})})"

    def counters(self) -> set[str]:
        return set()

    def window(self) -> float:
        return 0.0

    def tuned(self, window_s: float | None, min_samples: int | None) -> GaugeSignal:
        return self


@dataclass(frozen=True, slots=True)
class AgeSignal:
    """Seconds since a timestamp gauge, per group: WorkerDown (heartbeat age per component)."""

    metric: str
    by: tuple[str, ...] = ("component",)
    kind: str = "age"

    def compute(self, view: View) -> list[Reading]:
        latest: dict[Labels, float] = {}
        for labels, value in view.series(self.metric, {}):
            group = tuple((k, labels.get(k, "")) for k in self.by)
            latest[group] = max(latest.get(group, value), value)
        return [Reading(dict(g), view.now_s - ts) for g, ts in latest.items()]

    def promql(self) -> str:
        return f"time() - max{_by(self.by)} ({self.metric})"

    def counters(self) -> set[str]:
        return set()

    def window(self) -> float:
        return 0.0

    def tuned(self, window_s: float | None, min_samples: int | None) -> AgeSignal:
        return self


@dataclass(frozen=True, slots=True)
class FreshCountSignal:
    """How many components sent a heartbeat within ``stale_s`` (AllWorkersDown).

    Components in ``exclude`` are left out (the alert engine itself is always fresh while it
    evaluates). Nothing is reported before any component has ever beaten.
    """

    metric: str
    stale_s: float
    exclude: tuple[str, ...] = ()
    label: str = "component"
    kind: str = "fresh_count"

    def compute(self, view: View) -> list[Reading]:
        beats = [
            ts
            for labels, ts in view.series(self.metric, {})
            if labels.get(self.label) not in self.exclude
        ]
        if not beats:
            return []
        return [Reading({}, float(sum(1 for ts in beats if view.now_s - ts <= self.stale_s)))]

    def promql(self) -> str:
        sel = selector(self.metric, {}, {self.label: self.exclude})
        fresh = f"count((time() - {sel}) <= {fmt_number(self.stale_s)})"
        return f"({fresh} or vector(0)) and on() (count({sel}) > 0)"

    def counters(self) -> set[str]:
        return set()

    def window(self) -> float:
        return 0.0

    def tuned(self, window_s: float | None, min_samples: int | None) -> FreshCountSignal:
        return self


@dataclass(frozen=True, slots=True)
class IncreaseSignal:
    """How much counters grew over a window: ExchangeApiErrors, MassBreakerTrips, ErrorSpike."""

    metric: str
    window_s: float
    match: dict[str, str] = field(default_factory=dict)
    by: tuple[str, ...] = ()
    kind: str = "increase"

    def compute(self, view: View) -> list[Reading]:
        sums = view.increase(self.metric, self.window_s, self.match, self.by)
        return [Reading(dict(g), v) for g, v in sums.items()]

    def promql(self) -> str:
        return increase_promql(self.metric, self.window_s, self.match, self.by)

    def counters(self) -> set[str]:
        return {self.metric}

    def window(self) -> float:
        return self.window_s

    def tuned(self, window_s: float | None, min_samples: int | None) -> IncreaseSignal:
        return self if window_s is None else replace(self, window_s=window_s)


def increase_promql(
    metric: str, window_s: float, match: Mapping[str, str], by: tuple[str, ...] = ()
) -> str:
    """``increase()`` rather than ``m − m offset W``: a restart of Rampart resets its counters,
    which the subtraction would read as a negative growth."""
    sel = selector(metric, match, {})
    return f"sum{_by(by)} (increase({sel}[{duration(window_s)}]))"


@dataclass(frozen=True, slots=True)
class RatioSignal:
    """Share of one counter's growth in another's over a window, once the denominator grew by
    at least ``min_samples``: ExecutionErrorRate, OrderSuccessLow, OrdersFailing."""

    numerator: str
    denominator: str
    window_s: float
    min_samples: int
    num_match: dict[str, str] = field(default_factory=dict)
    den_match: dict[str, str] = field(default_factory=dict)
    kind: str = "ratio"
    min_count: int = 0
    """When > 0, a window with at least this many of the numerator is judged whatever the
    denominator's count (else ApiSuccessLow stays silent below 200 requests in five
    minutes even when every one fails)."""

    def compute(self, view: View) -> list[Reading]:
        den = view.increase(self.denominator, self.window_s, self.den_match, ())
        total = den.get((), None)
        if total is None or total <= 0:
            return []
        num = view.increase(self.numerator, self.window_s, self.num_match, ()).get((), 0.0)
        if total < self.min_samples and not (self.min_count and num >= self.min_count):
            return []
        return [Reading({}, num / total)]

    def promql(self) -> str:
        num = increase_promql(self.numerator, self.window_s, self.num_match)
        den = increase_promql(self.denominator, self.window_s, self.den_match)
        enough = f"{den} >= {self.min_samples}"
        if self.min_count:
            enough += f" or ({num}) >= {self.min_count}"
        return f"(({num} or {den} * 0) / {den}) and on() ({enough})"

    def counters(self) -> set[str]:
        return {self.numerator, self.denominator}

    def window(self) -> float:
        return self.window_s

    def tuned(self, window_s: float | None, min_samples: int | None) -> RatioSignal:
        return replace(
            self,
            window_s=self.window_s if window_s is None else window_s,
            min_samples=self.min_samples if min_samples is None else min_samples,
        )


def bucket_quantile(q: float, buckets: list[tuple[float, float]]) -> float:
    """Prometheus's ``histogram_quantile`` over (upper bound, cumulative count) pairs, step for
    step, so the service and Prometheus get the very same number."""
    if math.isnan(q):
        return math.nan
    if q < 0:
        return -math.inf
    if q > 1:
        return math.inf
    ordered = sorted(buckets)
    if not ordered or not math.isinf(ordered[-1][0]):
        return math.nan
    merged: list[list[float]] = []
    for bound, count in ordered:
        if merged and merged[-1][0] == bound:
            merged[-1][1] += count
        else:
            merged.append([bound, count])
    for i in range(1, len(merged)):
        merged[i][1] = max(merged[i][1], merged[i - 1][1])
    if len(merged) < 2:
        return math.nan
    observations = merged[-1][1]
    if observations == 0:
        return math.nan
    rank = q * observations
    b = next((i for i in range(len(merged) - 1) if merged[i][1] >= rank), len(merged) - 1)
    if b == len(merged) - 1:
        return merged[-2][0]
    if b == 0 and merged[0][0] <= 0:
        return merged[0][0]
    start, end, count = 0.0, merged[b][0], merged[b][1]
    if b > 0:
        start = merged[b - 1][0]
        count -= merged[b - 1][1]
        rank -= merged[b - 1][1]
    return start + (end - start) * (rank / count)


@dataclass(frozen=True, slots=True)
class QuantileSignal:
    """A quantile of a histogram's observations over a window (LatencyDegraded), once at least
    ``min_samples`` were observed."""

    histogram: str
    q: float
    window_s: float
    min_samples: int
    kind: str = "quantile"
    by: tuple[str, ...] = ()
    """One quantile per group (DatabaseSlow: per process, so one slow worker does not hide
    behind a busy server's fast statements)."""

    def compute(self, view: View) -> list[Reading]:
        counts = view.increase(f"{self.histogram}_count", self.window_s, {}, self.by)
        rows = view.increase(f"{self.histogram}_bucket", self.window_s, {}, (*self.by, "le"))
        out: list[Reading] = []
        for group, count in counts.items():
            if count < self.min_samples or count <= 0:
                continue
            buckets = [
                (float(dict(g)["le"]), v)
                for g, v in rows.items()
                if tuple(kv for kv in g if kv[0] != "le") == group
            ]
            value = bucket_quantile(self.q, buckets)
            if not math.isnan(value):
                # A process's own series carry no process label: "this process" says so.
                out.append(Reading({k: v or "this process" for k, v in group}, value))
        return out

    def promql(self) -> str:
        rate = increase_promql(f"{self.histogram}_bucket", self.window_s, {}, (*self.by, "le"))
        count = increase_promql(f"{self.histogram}_count", self.window_s, {}, self.by)
        quantile = f"histogram_quantile({fmt_number(self.q)}, {rate})"
        if self.by:
            return f"{quantile} and on({', '.join(self.by)}) ({count} >= {self.min_samples})"
        return f"{quantile} and on() ({count} >= {self.min_samples})"

    def counters(self) -> set[str]:
        return {f"{self.histogram}_bucket", f"{self.histogram}_count"}

    def window(self) -> float:
        return self.window_s

    def tuned(self, window_s: float | None, min_samples: int | None) -> QuantileSignal:
        return replace(
            self,
            window_s=self.window_s if window_s is None else window_s,
            min_samples=self.min_samples if min_samples is None else min_samples,
        )

"""Rule unit tests for ``promtool test rules``: for every exported alert, input series that put
its value just past the threshold (the alert fires once its ``for`` has passed, not before) and
series that put it on the threshold or just short of it (the alert stays silent).

Windowed signals get counters that jump once from zero, so ``increase()`` equals the intended
value exactly while the jump is inside the window (a series starting at 0 is not extrapolated
past its zero); ratios use whole counts whose quotient is the intended value to the last bit;
quantiles use bucket counts checked with the same ``histogram_quantile`` arithmetic that
Prometheus runs.

Every counted (increase or ratio) rule also gets the same two values across a restart of
Rampart: each counter rises before the restart, drops (the new process starts from zero) and
rises again, so only an increase that reads the drop as a reset adds both parts up to the
intended value. ``m − m offset W`` would see the part after the restart alone (or a negative
growth): too few errors to fire, or no accepted order at all (OrdersFailing after every
restart).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from prometheus_client.utils import floatToGoString

from rampart.observability.alerts.database import StoreDownSignal
from rampart.observability.alerts.growth import GrowthSignal
from rampart.observability.alerts.rule import AlertRule
from rampart.observability.alerts.signals import (
    AgeSignal,
    FreshCountSignal,
    GaugeSignal,
    IncreaseSignal,
    QuantileSignal,
    RatioSignal,
    bucket_quantile,
    fmt_number,
)
from rampart.observability.metrics import LATENCY_BUCKETS

STEP_S = 60
EXAMPLE_LABELS = {
    "component": "engine",
    "symbol": "BTC/USDT",
    "venue": "paper",
    "process": "worker-1",
}


@dataclass(frozen=True, slots=True)
class Scenario:
    series: list[dict[str, str]]
    labels: dict[str, str]
    start_min: int
    """The first minute at which the condition holds."""


def fire_and_quiet(rule: AlertRule) -> tuple[float, float]:
    """A value just on the firing side of the threshold, and one on it or just short of it."""
    t, step = rule.threshold, rule.step
    fire, quiet = {
        ">": (t + step, t),
        ">=": (t, t - step),
        "<": (t - step, t),
        "<=": (t, t + step),
    }[rule.comparison]
    # Round away float noise (0.1 + 0.01 is 0.11000000000000001) so values stay exact.
    return round(fire, 9), round(quiet, 9)


def _selector(name: str, labels: dict[str, str]) -> str:
    if not labels:
        return name
    inner = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    return f"{name}{{{inner}}}"


def _constant(value: float, minutes: int) -> str:
    return f"{fmt_number(value)}x{minutes}"


def _jump(value: float, minutes: int) -> str:
    """0 at minute 0, then ``value`` from minute 1 on."""
    return f"0 {fmt_number(value)}x{minutes}"


def _restart_split(value: float) -> tuple[int, int] | None:
    """``value`` as a count before a restart and a smaller one after it (the drop is what
    shows the restart), or None for a value that is not a whole count."""
    if value < 0 or value != int(value):
        return None
    before = int(value) // 2 + 1 if value else 0
    return before, int(value) - before


def _restarted(before: int, after: int, minutes: int) -> str:
    """0 at minute 0 (a fresh process), ``before`` at minute 1, then the process restarts and
    its counter reads ``after`` from minute 2 on: a window over all of it grew by the sum."""
    return f"0 {before} {after}x{minutes}"


def _aged(age_s: float, minutes: int) -> str:
    """A timestamp that is always ``age_s`` old at each whole minute."""
    return f"{fmt_number(-age_s)}+{STEP_S}x{minutes}"


def scenario(rule: AlertRule, value: float, minutes: int) -> Scenario | None:
    """Input series that make the rule's signal equal ``value``; None if none can."""
    signal = rule.signal
    by = {k: EXAMPLE_LABELS.get(k, k) for k in rule.labels}
    if isinstance(signal, GaugeSignal):
        labels = {**signal.match, **by}
        return Scenario([_series(signal.metric, labels, _constant(value, minutes))], by, 0)
    if isinstance(signal, AgeSignal):
        return Scenario([_series(signal.metric, by, _aged(value, minutes))], by, 0)
    if isinstance(signal, FreshCountSignal):
        return _fresh_count(signal, value, minutes)
    if isinstance(signal, IncreaseSignal):
        labels = {**signal.match, **by}
        return Scenario([_series(signal.metric, labels, _jump(value, minutes))], by, 1)
    if isinstance(signal, RatioSignal):
        return _ratio(signal, value, minutes)
    if isinstance(signal, QuantileSignal):
        return _quantile(signal, rule, value, minutes)
    if isinstance(signal, GrowthSignal):
        return _growth(signal, value, minutes)
    if isinstance(signal, StoreDownSignal) and value in (0, 1):
        # The gauge's half (down reads 1); no failure counted, so the flapping half reads 0.
        up = _series(signal.up, {}, _constant(1 - value, minutes))
        return Scenario([up, _series(signal.failures, {}, _constant(0, minutes))], {}, 0)
    return None


GROWTH_BASE = 100_000_000
"""Where a growing gauge starts in the unit tests (100 MB of memory): a whole number that
percentages of it are whole numbers too, so the share is exact."""


def _growth(signal: GrowthSignal, value: float, minutes: int) -> Scenario | None:
    """The gauge at the base for a whole window, then grown by ``value`` of it: the share
    holds from the window's end + 1 minute until the base leaves the ``offset``."""
    grown = GROWTH_BASE + Fraction(value).limit_denominator(10_000) * GROWTH_BASE
    window_min = int(signal.window_s // STEP_S)
    if grown.denominator != 1 or (int(grown) - GROWTH_BASE) / GROWTH_BASE != value:
        return None
    values = f"{GROWTH_BASE}x{window_min} {int(grown)}x{minutes}"
    return Scenario([_series(signal.metric, {}, values)], {}, window_min + 1)


def _series(name: str, labels: dict[str, str], values: str) -> dict[str, str]:
    return {"series": _selector(name, labels), "values": values}


def _fresh_count(signal: FreshCountSignal, value: float, minutes: int) -> Scenario | None:
    if value < 0 or value != int(value):
        return None
    series = [
        _series(signal.metric, {signal.label: f"worker{i}"}, _aged(signal.stale_s, minutes))
        for i in range(int(value))
    ]
    # One stale worker so that workers exist at all, and the excluded ones beating freshly.
    series.append(
        _series(signal.metric, {signal.label: "stale"}, _aged(signal.stale_s + 1, minutes))
    )
    series += [
        _series(signal.metric, {signal.label: name}, _aged(0, minutes)) for name in signal.exclude
    ]
    return Scenario(series, {}, 0)


def _ratio(signal: RatioSignal, value: float, minutes: int) -> Scenario | None:
    if not 0 <= value <= 1:
        return None
    share = Fraction(value).limit_denominator(1000)
    scale = max(1, math.ceil(signal.min_samples / share.denominator))
    num, den = share.numerator * scale, share.denominator * scale
    if num / den != value:
        return None
    series = [_series(signal.numerator, dict(signal.num_match), _jump(num, minutes))]
    if signal.numerator == signal.denominator:
        rest = {k: "other" for k in signal.num_match}
        series.append(_series(signal.denominator, rest, _jump(den - num, minutes)))
    else:
        series.append(_series(signal.denominator, dict(signal.den_match), _jump(den, minutes)))
    return Scenario(series, {}, 1)


def _quantile(
    signal: QuantileSignal, rule: AlertRule, value: float, minutes: int
) -> Scenario | None:
    """Observations split between two neighbouring buckets, chosen so the quantile lands on
    the wanted side of the threshold at ``value``, or as close to it as the buckets allow.

    Totals of 1 to 8 times the fewest samples are tried (fewest first): a value inside a
    wide bucket is often reachable only with more samples."""
    base = max(20, signal.min_samples)
    bounds = [*LATENCY_BUCKETS, math.inf]
    want_fire = rule.holds(value)
    best: tuple[float, list[float], int] | None = None
    for total in range(base, 8 * base + 1, base):
        for i in range(len(bounds) - 1):
            for low in range(total + 1):
                cumulative = [0.0 if j < i else float(low) for j in range(i + 1)]
                cumulative += [float(total)] * (len(bounds) - i - 1)
                result = bucket_quantile(signal.q, list(zip(bounds, cumulative, strict=True)))
                if math.isnan(result) or rule.holds(result) != want_fire:
                    continue
                distance = abs(result - value)
                if best is None or distance < best[0]:
                    best = (distance, cumulative, total)
        if best is not None and best[0] < 1e-9:
            break
    if best is None:
        return None
    total = best[2]
    by = {k: EXAMPLE_LABELS.get(k, k) for k in signal.by}  # one group (a process) per series
    series = [
        _series(f"{signal.histogram}_bucket", {**by, "le": floatToGoString(b)}, _jump(c, minutes))
        for b, c in zip(bounds, best[1], strict=True)
    ]
    series.append(_series(f"{signal.histogram}_count", by, _jump(total, minutes)))
    return Scenario(series, by, 1)


def restart_scenario(rule: AlertRule, value: float, minutes: int) -> Scenario | None:
    """Counters that make a counted rule's signal equal ``value`` only when the part before a
    restart and the part after it are added up; None for other signals (gauges have no
    history, and a quantile's buckets are checked by the plain scenario)."""
    signal = rule.signal
    if isinstance(signal, IncreaseSignal):
        split = _restart_split(value)
        if split is None:
            return None
        by = {k: EXAMPLE_LABELS.get(k, k) for k in rule.labels}
        labels = {**signal.match, **by}
        return Scenario([_series(signal.metric, labels, _restarted(*split, minutes))], by, 2)
    if isinstance(signal, RatioSignal):
        plain = _ratio(signal, value, minutes)
        if plain is None:
            return None
        series = []
        for index, item in enumerate(plain.series):
            total = int(item["values"].split()[1].split("x")[0])
            # The numerator (first) counted before the restart only, the rest on both sides:
            # the part after the restart alone has the wrong share.
            split = (total, 0) if index == 0 else _restart_split(total)
            if split is None:
                return None
            series.append({**item, "values": _restarted(*split, minutes)})
        return Scenario(series, {}, 2)
    return None


def _restart_tests(rule: AlertRule, fire: float, quiet: float, wait: int) -> list[dict[str, Any]]:
    window_min = rule.signal.window() / 60
    minutes = wait + 4
    hot = restart_scenario(rule, fire, minutes)
    cold = restart_scenario(rule, quiet, minutes)
    # Minute 0 (the zero the first process started from) must stay inside the window, also
    # for Prometheus 3's left-open ranges, so no extrapolation makes the value inexact.
    if hot is None or cold is None or hot.start_min + wait > window_min - 1:
        return []
    at = hot.start_min + wait
    expected = {
        "exp_labels": {"severity": rule.severity, **hot.labels},
        "exp_annotations": {"summary": rule.describe(hot.labels)},
    }
    return [
        {
            "name": f"{rule.name} fires at {fmt_number(fire)} across a restart (counter reset)",
            "interval": "1m",
            "input_series": hot.series,
            "alert_rule_test": [
                {"eval_time": f"{at}m", "alertname": rule.name, "exp_alerts": [expected]}
            ],
        },
        {
            "name": f"{rule.name} stays quiet at {fmt_number(quiet)} across a restart "
            "(counter reset)",
            "interval": "1m",
            "input_series": cold.series,
            "alert_rule_test": [{"eval_time": f"{at}m", "alertname": rule.name, "exp_alerts": []}],
        },
    ]


def _minutes(seconds: float) -> int:
    return math.ceil(seconds / STEP_S)


def rule_tests(rules: list[AlertRule]) -> list[dict[str, Any]]:
    """Two promtool test cases per enabled rule: fires past the threshold, quiet on it; and
    the same two across a counter reset for the counted rules."""
    tests: list[dict[str, Any]] = []
    for rule in rules:
        if not rule.enabled:
            continue
        fire, quiet = fire_and_quiet(rule)
        wait = _minutes(rule.for_s)
        # DatabaseDown's scenario holds its gauge steady: no jump that leaves the window.
        window = 0.0 if isinstance(rule.signal, StoreDownSignal) else rule.signal.window()
        minutes = wait + 3
        hot = scenario(rule, fire, minutes)
        cold = scenario(rule, quiet, minutes)
        if hot is None or cold is None:
            continue  # no exact input exists for this configuration; the rule is still checked
        # A growth holds for one window after the jump; an increase while the jump is inside it.
        inside = window if isinstance(rule.signal, GrowthSignal) else 0
        if window and hot.start_min + wait >= (window + inside) / 60:
            continue
        at = hot.start_min + wait
        expected = {
            "exp_labels": {"severity": rule.severity, **hot.labels},
            "exp_annotations": {"summary": rule.describe(hot.labels)},
        }
        checks: list[dict[str, Any]] = []
        if wait:
            checks.append({"eval_time": f"{at - 1}m", "alertname": rule.name, "exp_alerts": []})
        checks.append({"eval_time": f"{at}m", "alertname": rule.name, "exp_alerts": [expected]})
        tests.append(
            {
                "name": f"{rule.name} fires at {fmt_number(fire)} after {rule.for_s:g} s",
                "interval": "1m",
                "input_series": hot.series,
                "alert_rule_test": checks,
            }
        )
        tests.append(
            {
                "name": f"{rule.name} stays quiet at {fmt_number(quiet)}",
                "interval": "1m",
                "input_series": cold.series,
                "alert_rule_test": [
                    {
                        "eval_time": f"{cold.start_min + wait}m",
                        "alertname": rule.name,
                        "exp_alerts": [],
                    }
                ],
            }
        )
        tests.extend(_restart_tests(rule, fire, quiet, wait))
    return tests

"""Alert rules: YAML overrides by rule name, refused in one sentence when wrong; the signals'
windowed arithmetic; and Prometheus's quantile arithmetic reproduced exactly."""

from __future__ import annotations

import asyncio
import math
from pathlib import Path

import pytest

from rampart.config import load_settings
from rampart.domain.errors import ConfigError
from rampart.observability.alerts.overrides import load_rules, parse_duration, rules_from_settings
from rampart.observability.alerts.rules import default_rules
from rampart.observability.alerts.signals import (
    History,
    View,
    bucket_quantile,
    duration,
    take_snapshot,
)
from rampart.observability.metrics import Metrics


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "rules.yml"
    path.write_text(text)
    return path


def test_overrides_change_only_what_they_name(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "rules:\n"
        "  OrderSuccessLow: {threshold: 0.9, for: 10m, window: 30m, min_samples: 50}\n"
        "  ErrorSpike: {enabled: false, severity: P1}\n"
        "  FeedDisconnected: {threshold: 120, summary: 'Feed {symbol} silent past {threshold}.'}\n",
    )
    rules = {r.name: r for r in load_rules(path)}
    defaults = {r.name: r for r in default_rules()}
    low = rules["OrderSuccessLow"]
    assert (low.threshold, low.for_s, low.signal.window()) == (0.9, 600, 1800)
    assert getattr(low.signal, "min_samples", None) == 50
    assert "[30m]" in low.expr and "offset" not in low.expr and low.expr.endswith("< 0.9")
    assert not rules["ErrorSpike"].enabled and rules["ErrorSpike"].severity == "P1"
    assert rules["FeedDisconnected"].describe({"symbol": "ETH/USDT"}) == (
        "Feed ETH/USDT silent past 120 s."
    )
    untouched = set(rules) - {"OrderSuccessLow", "ErrorSpike", "FeedDisconnected"}
    assert all(rules[n] == defaults[n] for n in untouched)


def test_settings_bring_the_rules_file_and_the_worker_staleness(tmp_path: Path) -> None:
    path = _write(tmp_path, "EventLagHigh: {threshold: 50}\n")
    settings = load_settings(alerts={"rules_file": str(path)}, ops={"worker_stale_s": 45})
    rules = {r.name: r for r in rules_from_settings(settings)}
    assert rules["EventLagHigh"].threshold == 50
    assert rules["WorkerDown"].threshold == 45
    assert "<= 45" in rules["AllWorkersDown"].expr


def test_latency_alert_and_rollout_gate_share_one_target() -> None:
    """LatencyDegraded fires at ``rollout.latency_target_ms`` + 20 %, LatencyCritical at + 50 %
    (the launch plans' numbers, ``alerts.levels``); the rollout gate holds stages to the same
    target + 10 %: there is no second latency target."""
    for target_ms, warn, critical, words in (
        (2000, 2.4, 3.0, "its 2 s target + 20%"),
        (300, 0.36, 0.45, "its 300 ms target + 20%"),
    ):
        settings = load_settings(rollout={"latency_target_ms": target_ms})
        rules = {r.name: r for r in rules_from_settings(settings)}
        rule = rules["LatencyDegraded"]
        assert rule.threshold == pytest.approx(warn)
        assert rule.expr.endswith(f"> {rule.threshold!r}") or rule.expr.endswith(f"> {warn:g}")
        assert rule.describe({}).endswith(words + ".")
        assert rules["LatencyCritical"].threshold == pytest.approx(critical)
        assert rules["LatencyCritical"].severity == "P1"
        gate = next(g for g in settings.rollout.gate_list() if g.unit == "ms")
        assert gate.threshold == target_ms * 1.1
    by_default = {r.name: r for r in default_rules()}["LatencyDegraded"]
    assert by_default.threshold == 1.2 * load_settings().rollout.latency_target_ms / 1000


def test_the_launch_plans_levels_are_read_from_the_settings_once() -> None:
    """Each plan threshold is one setting that the rules (and so the export) read: changing
    ``alerts.levels`` or ``rollout.uptime_target`` moves the rule, nothing else holds a copy."""
    defaults = {r.name: r for r in default_rules()}
    expected = {
        "ErrorRateCritical": ("P0", 0.05),
        "ExecutionErrorRate": ("P1", 0.01),
        "ErrorRateElevated": ("P2", 0.005),
        "MemoryGrowth": ("P0", 0.05),
        "DatabaseErrors": ("P0", 0.001),
        "UptimeLow": ("P1", 0.999),
    }
    for name, (severity, threshold) in expected.items():
        assert (defaults[name].severity, defaults[name].threshold) == (severity, threshold), name
    settings = load_settings(
        alerts={
            "levels": {
                "error_rate_page": 0.07,
                "error_rate_warn": 0.02,
                "error_rate_investigate": 0.006,
                "memory_growth_per_h": 0.1,
                "database_error_rate": 0.002,
                "latency_critical_over_target": 1.0,
            }
        },
        rollout={"uptime_target": 0.995},
    )
    rules = {r.name: r for r in rules_from_settings(settings)}
    moved = {name: rules[name].threshold for name in expected}
    assert moved == {
        "ErrorRateCritical": 0.07,
        "ExecutionErrorRate": 0.02,
        "ErrorRateElevated": 0.006,
        "MemoryGrowth": 0.1,
        "DatabaseErrors": 0.002,
        "UptimeLow": 0.995,
    }
    assert rules["LatencyCritical"].threshold == 4.0
    assert next(g for g in settings.rollout.gate_list() if g.metric == "uptime").threshold == 0.995
    assert "offset 1h" in rules["MemoryGrowth"].expr


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("Nope: {threshold: 1}\n", "unknown alert rule 'Nope'"),
        ("EventLagHigh: {threshold: high}\n", "must be a number"),
        ("EventLagHigh: {for: soon}\n", "must be a duration"),
        ("EventLagHigh: {for: -5}\n", "cannot be negative"),
        ("EventLagHigh: {severity: P9}\n", "must be P0, P1 or P2"),
        ("EventLagHigh: {colour: red}\n", "is not a rule setting"),
        ("EventLagHigh: {window: 5m}\n", "has no window"),
        ("EventLagHigh: {min_samples: 3}\n", "does not count samples"),
        ("OrderSuccessLow: {min_samples: 0}\n", "at least 1"),
        ("OrderSuccessLow: {window: 0}\n", "longer than zero"),
        ("EventLagHigh: {enabled: maybe}\n", "true or false"),
        ("EventLagHigh: {summary: 'Lag {nope}'}\n", "placeholders"),
        ("EventLagHigh: 5\n", "must be a mapping"),
        ("- just\n- a list\n", "must map rule names"),
        ("EventLagHigh: {threshold: [1\n", "is not valid YAML"),
    ],
)
def test_a_bad_rules_file_is_one_sentence(tmp_path: Path, text: str, words: str) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_rules(path)
    message = caught.value.message
    assert words in message and "\n" not in message and message.endswith(".")


def test_a_missing_or_empty_rules_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_rules(tmp_path / "absent.yml")
    assert load_rules(_write(tmp_path, "")) == default_rules()


def test_durations_read_both_ways() -> None:
    assert [parse_duration(v, "x") for v in (30, "90s", "5m", "1h", "250ms", 1.5)] == [
        30,
        90,
        300,
        3600,
        0.25,
        1.5,
    ]
    assert [duration(s) for s in (0, 30, 90, 300, 3600, 0.25)] == [
        "0s",
        "30s",
        "90s",
        "5m",
        "1h",
        "250ms",
    ]


def test_windowed_increases_count_from_zero_and_forget_old_samples() -> None:
    m = Metrics()
    history = History(keep_ms=60_000)
    names = ["rampart_breaker_trips_total"]

    def increase_at(now_ms: int) -> float:
        samples = take_snapshot(m.registry)
        history.record(now_ms, samples, names)
        view = View(now_ms, samples, history)
        return view.increase(names[0], 60, {}, ()).get((), 0.0)

    m.breaker_trips.labels(breaker="loss").inc(2)
    assert increase_at(0) == 2  # the series did not exist a window ago: it counts from zero
    m.breaker_trips.labels(breaker="drawdown").inc(3)
    assert increase_at(30_000) == 5
    assert increase_at(60_000) == 3  # the value at 0 s (2) is now a window old
    assert increase_at(120_000) == 0
    assert len(history._times) <= 3


def test_the_quantile_matches_prometheus_arithmetic() -> None:
    inf = math.inf
    # 19 of 20 at or below 0.5 s: the 95th percentile is exactly the 0.5 s bound.
    assert bucket_quantile(0.95, [(0.25, 0), (0.5, 19), (1.0, 20), (inf, 20)]) == 0.5
    assert bucket_quantile(0.95, [(0.25, 0), (0.5, 18), (1.0, 20), (inf, 20)]) == 0.75
    # Past the last finite bucket Prometheus answers that bucket's bound.
    assert bucket_quantile(0.99, [(1.0, 1), (inf, 10)]) == 1.0
    assert math.isnan(bucket_quantile(0.5, [(1.0, 0), (inf, 0)]))
    assert math.isnan(bucket_quantile(0.5, [(1.0, 3)]))
    assert bucket_quantile(1.5, [(1.0, 1), (inf, 1)]) == inf


def test_windowed_increases_read_a_counter_drop_as_a_reset() -> None:
    """A restart starts the counters at zero again: the window still holds every rise (before
    and after the restart), as Prometheus's increase() reads it, and never goes negative."""
    history = History(keep_ms=600_000)
    name = "rampart_exchange_errors_total"

    def increase_at(m: Metrics, now_ms: int, window_s: float = 300) -> float:
        samples = take_snapshot(m.registry)
        history.record(now_ms, samples, [name])
        return View(now_ms, samples, history).increase(name, window_s, {}, ()).get((), 0.0)

    before = Metrics()
    before.exchange_error("paper", "timeout")
    assert increase_at(before, 0) == 1
    for _ in range(9):
        before.exchange_error("paper", "timeout")
    assert increase_at(before, 60_000) == 10
    after = Metrics()  # the restarted process: its counter starts again from zero
    assert increase_at(after, 120_000) == 10  # no error since: no rise, and not −10
    for _ in range(3):
        after.exchange_error("paper", "timeout")
    assert increase_at(after, 180_000) == 13
    assert increase_at(after, 180_000, window_s=90) == 3  # only what came after the restart
    # Once the restart is a window old, only the later rises remain; never below zero.
    assert increase_at(after, 420_000) == 3
    assert increase_at(after, 480_000) == 0


def test_an_alert_fires_across_a_counter_reset() -> None:
    """ExchangeApiErrors (5 in 5 minutes) with 3 errors before a restart and 2 after: the
    alert engine adds them up, where ``now − value 5 minutes ago`` gave 2 − 3 = −1."""
    from rampart.clock import SimClock
    from rampart.observability.alerts.engine import AlertEngine
    from rampart.observability.notify import CallbackNotifier, Notice

    notices: list[Notice] = []

    async def record(notice: Notice) -> None:
        notices.append(notice)

    rules = [r for r in default_rules() if r.name == "ExchangeApiErrors"]
    clock = SimClock(1_700_000_000_000)
    engine = AlertEngine(rules, Metrics(), None, clock, CallbackNotifier(record))

    def step(errors: int) -> None:
        clock.advance(30_000)
        for _ in range(errors):
            engine.metrics.exchange_error("paper", "timeout")
        asyncio.run(engine.evaluate(clock.now_ms()))

    step(0)
    step(3)
    engine.metrics = Metrics()  # restarted: every counter is back at zero
    step(0)
    step(2)
    assert notices == []  # the condition holds now; the rule's for (1 minute) has not passed
    step(0)
    step(0)
    assert [(n.rule, n.kind, n.value) for n in notices] == [("ExchangeApiErrors", "firing", 5)]

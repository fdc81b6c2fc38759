"""Units in every summary: MessagingDown said "for 1" (its threshold, a gauge
level, where the time it must last belonged), and ``deploy start`` printed "held 0 min" for a
30 s hold."""

from __future__ import annotations

import re

from rampart.observability.alerts.rules import default_rules
from rampart.rollout.deploy import StepCheck
from rampart.rollout.deploy_notices import _duration

# "for 1", "for 0.5", "over 3" with no unit after the number.
UNITS = r"%|s\b|ms\b|seconds?|minutes?|hours?|days?|min\b|h\b|candles?|requests?|times?|×"
BARE = re.compile(rf"\b(?:for|over|within|after)\s+-?\d+(?:\.\d+)?(?![\d.]*\s*(?:{UNITS}))")


def test_no_rule_says_a_bare_number_of_time() -> None:
    bare = {
        rule.name: rule.describe({k: f"<{k}>" for k in rule.labels})
        for rule in default_rules()
        if BARE.search(rule.describe({k: f"<{k}>" for k in rule.labels}))
    }
    assert bare == {}


def test_messaging_down_says_how_long() -> None:
    (rule,) = [r for r in default_rules() if r.name == "MessagingDown"]
    assert "has not been connected to NATS for 5 seconds:" in rule.describe({"link": "worker"})


def test_a_short_deploy_hold_reads_in_seconds() -> None:
    assert StepCheck(12.0, 30.0, 1, ()).lines() == ["held 12 of 30 s"]
    assert StepCheck(600.0, 1800.0, 1, ()).lines() == ["held 10 of 30 min"]
    assert _duration(30) == "30 s" and _duration(1800) == "30 min"

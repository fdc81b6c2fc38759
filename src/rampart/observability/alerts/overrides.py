"""The operator's overrides of the default alert rules (``alerts.rules_file``), by rule
name; every key is optional::

    OrderSuccessLow: {threshold: 0.9, for: 10m}
    ErrorSpike: {enabled: false}
    LatencyDegraded: {severity: P1, window: 10m, min_samples: 50}
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import yaml

from rampart.domain.errors import ConfigError
from rampart.observability.alerts.rules import (
    LATENCY_TARGET_S,
    SEVERITIES,
    UPTIME_TARGET,
    AlertRule,
    default_rules,
)
from rampart.observability.alerts.settings import AlertLevels

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
_UNIT_S = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, None: 1}
FIELDS = ("threshold", "for", "severity", "summary", "window", "min_samples", "enabled")


def parse_duration(value: Any, what: str) -> float:
    """Seconds from a number or a text such as ``90s``, ``5m``, ``1h``."""
    if isinstance(value, bool):
        raise ConfigError(f"{what} must be a duration such as 30s or 5m, not {value!r}.")
    if isinstance(value, int | float):
        seconds = float(value)
    else:
        match = _DURATION.match(str(value))
        if match is None:
            raise ConfigError(f"{what} must be a duration such as 30s or 5m, not {value!r}.")
        seconds = float(match.group(1)) * _UNIT_S[match.group(2)]
    if seconds < 0:
        raise ConfigError(f"{what} cannot be negative.")
    return seconds


def _number(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(f"{what} must be a number, not {value!r}.")
    return float(value)


def apply_overrides(
    rules: list[AlertRule], overrides: Mapping[str, Any], source: str
) -> list[AlertRule]:
    """Rules with the overrides applied; a ConfigError names the first thing that is wrong."""
    by_name = {rule.name: rule for rule in rules}
    for name, changes in overrides.items():
        if name not in by_name:
            known = ", ".join(by_name)
            raise ConfigError(f"{source} names an unknown alert rule {name!r}; known: {known}.")
        if not isinstance(changes, Mapping):
            raise ConfigError(f"{source}: the settings of {name} must be a mapping of keys.")
        rule = by_name[name]
        for key, value in changes.items():
            what = f"{source}: {name}.{key}"
            if key == "threshold":
                rule = replace(rule, threshold=_number(value, what))
            elif key == "for":
                rule = replace(rule, for_s=parse_duration(value, what))
            elif key == "severity":
                if value not in SEVERITIES:
                    raise ConfigError(f"{what} must be P0, P1 or P2, not {value!r}.")
                rule = replace(rule, severity=value)
            elif key == "summary":
                rule = replace(rule, summary=_summary(value, rule, what))
            elif key == "window":
                if rule.signal.window() == 0:
                    raise ConfigError(f"{what}: {name} has no window to change.")
                seconds = parse_duration(value, what)
                if seconds <= 0:
                    raise ConfigError(f"{what} must be longer than zero.")
                rule = replace(rule, signal=rule.signal.tuned(seconds, None))
            elif key == "min_samples":
                if not hasattr(rule.signal, "min_samples"):
                    raise ConfigError(f"{what}: {name} does not count samples.")
                if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                    raise ConfigError(f"{what} must be a whole number of at least 1.")
                rule = replace(rule, signal=rule.signal.tuned(None, value))
            elif key == "enabled":
                if not isinstance(value, bool):
                    raise ConfigError(f"{what} must be true or false.")
                rule = replace(rule, enabled=value)
            else:
                raise ConfigError(f"{what} is not a rule setting; use one of {', '.join(FIELDS)}.")
        by_name[name] = rule
    return list(by_name.values())


def _summary(value: Any, rule: AlertRule, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{what} must be a sentence.")
    try:
        value.format(threshold="", window="", **{k: "" for k in rule.labels})
    except (KeyError, IndexError, ValueError):
        allowed = ", ".join("{" + k + "}" for k in ("threshold", "window", *rule.labels))
        raise ConfigError(f"{what} may only use the placeholders {allowed}.") from None
    return value.strip()


def load_overrides(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise ConfigError(f"Alert rules file {path} does not exist.")
    try:
        loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError, OSError) as exc:
        first = str(exc).split("\n")[0].rstrip(".")
        raise ConfigError(f"Alert rules file {path} is not valid YAML: {first}.") from None
    if loaded is None:
        return {}
    if isinstance(loaded, Mapping) and set(loaded) == {"rules"}:
        loaded = loaded["rules"] or {}
    if not isinstance(loaded, Mapping):
        raise ConfigError(
            f"Alert rules file {path} must map rule names to their settings, "
            "e.g. 'OrderSuccessLow: {threshold: 0.9}'."
        )
    return dict(loaded)


def load_rules(
    rules_file: Path | None = None,
    worker_stale_s: float = 30.0,
    latency_target_s: float = LATENCY_TARGET_S,
    route_share: tuple[str, float] | None = None,
    levels: AlertLevels | None = None,
    uptime_target: float = UPTIME_TARGET,
) -> list[AlertRule]:
    """The default rules with the file's overrides applied (no file: the defaults)."""
    rules = default_rules(worker_stale_s, latency_target_s, route_share, levels, uptime_target)
    if rules_file is None:
        return rules
    return apply_overrides(rules, load_overrides(rules_file), f"Alert rules file {rules_file}")


def rules_from_settings(settings: Any) -> list[AlertRule]:
    return load_rules(
        settings.alerts.rules_file,
        settings.ops.worker_stale_s,
        settings.rollout.latency_target_ms / 1000,
        settings.solana.route.share_alert(settings.venue.kind),
        settings.alerts.levels,
        settings.rollout.uptime_target,
    )


__all__ = [
    "FIELDS",
    "apply_overrides",
    "load_overrides",
    "load_rules",
    "parse_duration",
    "rules_from_settings",
]

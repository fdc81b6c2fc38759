"""A deploy step's gates on the new version's API servers: their uptime, their
server-error rate and their p95 latency over the step, at the rollout's own thresholds (the
launch plan's blue-green: API uptime > 99.9 %, errors < 0.1 %, latency p95 < SLO + 10 %).

Each ``rampart serve`` keeps its running totals in ``scale_state`` under ``server:<name>``
(:func:`server_record`): its version, when it started and was last seen, the seconds it was
ready, its requests, its 5xx answers and its latency histogram. A step notes every server's
totals when it starts; the gates measure what was added since. A server that stops adds no
ready seconds while the step's clock runs on, so a dead server lowers the uptime; one that
started during the step counts from its start."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from rampart.rollout.rules.gates import (
    EXECUTION_ERRORS,
    LATENCY_P95,
    UPTIME,
    Comparison,
    Gate,
    Measurement,
)

SERVER = "server:"
"""``scale_state`` key prefix of a serve process's totals."""
API_UPTIME, API_ERRORS, API_LATENCY = "api_uptime", "api_error_rate", "api_latency_p95_ms"


def server_record(
    version: str,
    started_ms: int,
    now_ms: int,
    ready_s: float,
    totals: Mapping[str, Any],
) -> dict[str, Any]:
    """What a serve process writes each round (``totals``: requests, errors, buckets)."""
    return {
        "version": version,
        "started_ms": started_ms,
        "seen_ms": now_ms,
        "ready_s": round(ready_s, 3),
        "requests": int(totals.get("requests", 0)),
        "errors": int(totals.get("errors", 0)),
        "buckets": {str(k): int(v) for k, v in dict(totals.get("buckets", {})).items()},
    }


def api_gates(gates: Sequence[Gate]) -> tuple[Gate, ...]:
    """The API servers' gates at the thresholds of the rollout's uptime, error-rate and latency
    gates (those the configuration has)."""
    by_metric = {g.metric: g for g in gates}
    found = []
    if (up := by_metric.get(UPTIME)) is not None:
        found.append(
            Gate(
                "API uptime (new servers)",
                API_UPTIME,
                up.threshold,
                up.comparison,
                1,
                up.failure_limit,
                "ratio",
            )
        )
    if (err := by_metric.get(EXECUTION_ERRORS)) is not None:
        found.append(
            Gate(
                "API server errors (new servers)",
                API_ERRORS,
                err.threshold,
                err.comparison,
                err.min_samples,
                err.failure_limit,
                "ratio",
            )
        )
    if (lat := by_metric.get(LATENCY_P95)) is not None:
        found.append(
            Gate(
                "API p95 latency (new servers)",
                API_LATENCY,
                lat.threshold,
                Comparison.LE,
                lat.min_samples,
                lat.failure_limit,
                "ms",
            )
        )
    return tuple(found)


def _minus(now: Mapping[str, Any], then: Mapping[str, Any] | None) -> dict[str, Any]:
    """What a server added since ``then`` (its totals at the step's start; None: started since,
    or restarted: its totals began again)."""
    if then is None or int(now.get("started_ms", 0)) != int(then.get("started_ms", 0)):
        return dict(now)
    buckets = {k: v - int(then.get("buckets", {}).get(k, 0)) for k, v in now["buckets"].items()}
    return {
        **now,
        "ready_s": float(now["ready_s"]) - float(then.get("ready_s", 0)),
        "requests": int(now["requests"]) - int(then.get("requests", 0)),
        "errors": int(now["errors"]) - int(then.get("errors", 0)),
        "buckets": buckets,
    }


def _p95_ms(buckets: Mapping[str, int], count: int) -> float | None:
    """The p95 as the upper bound of the histogram bucket that holds it (Prometheus' buckets
    are cumulative; ``+Inf`` holds everything)."""
    if count <= 0:
        return None
    wanted = 0.95 * count
    for bound, seen in sorted(buckets.items(), key=lambda kv: float(kv[0])):
        if seen >= wanted:
            return float(bound) * 1000
    return None


def measure_servers(
    version: str,
    step_started_ms: int,
    now_ms: int,
    at_step: Mapping[str, Mapping[str, Any]],
    now: Mapping[str, Mapping[str, Any]],
) -> dict[str, Measurement]:
    """The API servers of ``version`` over the step: uptime, 5xx rate, p95 latency."""
    ready = expected = 0.0
    requests = errors = 0
    buckets: dict[str, int] = {}
    servers = 0
    for name, record in now.items():
        if record.get("version") != version:
            continue
        servers += 1
        added = _minus(record, at_step.get(name))
        since = max(step_started_ms, int(record.get("started_ms", step_started_ms)))
        expected += max(0.0, (now_ms - since) / 1000)
        ready += max(0.0, float(added["ready_s"]))
        requests += int(added["requests"])
        errors += int(added["errors"])
        for bound, seen in added["buckets"].items():
            buckets[bound] = buckets.get(bound, 0) + int(seen)
    detail = f"{servers} server{'s' if servers != 1 else ''} of {version}"
    uptime = min(1.0, ready / expected) if expected > 0 else None
    return {
        API_UPTIME: Measurement(uptime, servers, detail),
        API_ERRORS: Measurement(errors / requests if requests else None, requests, detail),
        API_LATENCY: Measurement(_p95_ms(buckets, requests), requests, detail),
    }


__all__ = [
    "API_ERRORS",
    "API_LATENCY",
    "API_UPTIME",
    "SERVER",
    "api_gates",
    "measure_servers",
    "server_record",
]

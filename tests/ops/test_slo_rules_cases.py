"""ApiSuccessLow and DatabaseSlow in the cases they once got wrong: ApiSuccessLow stayed silent
below 200 requests in five minutes even when every one failed, and DatabaseSlow summed every
process, so one slow worker hid behind a busy server's fast statements. Computed by the rules'
own signals over a real alert History (the fleet's series labelled by process)."""

from __future__ import annotations

from rampart.observability.alerts.history import History
from rampart.observability.alerts.rules_slo import slo_rules
from rampart.observability.alerts.signals import View

T0 = 1_700_000_000_000
BOUNDS = (0.005, 0.01, 0.025, 0.05, 0.1, float("inf"))


def _view(before: dict, after: dict) -> View:
    history = History(keep_ms=3_600_000)
    names = set(before) | set(after)
    history.record(T0, before, names)
    history.record(T0 + 300_000, after, names)
    return View(T0 + 300_000, after, history)


def _rule(name: str):  # type: ignore[no-untyped-def]
    (rule,) = [r for r in slo_rules() if r.name == name]
    return rule


def test_api_success_low_fires_on_a_quiet_api_failing_every_request() -> None:
    rule = _rule("ApiSuccessLow")
    zero = {"rampart_api_requests_total": [({}, 0.0)],
            "rampart_api_server_errors_total": [({}, 0.0)]}  # fmt: skip
    failing = {"rampart_api_requests_total": [({}, 50.0)],
               "rampart_api_server_errors_total": [({}, 50.0)]}  # fmt: skip
    (reading,) = rule.signal.compute(_view(zero, failing))
    assert reading.value == 1.0 and rule.holds(reading.value)
    one = {"rampart_api_requests_total": [({}, 50.0)],
           "rampart_api_server_errors_total": [({}, 1.0)]}  # fmt: skip
    assert rule.signal.compute(_view(zero, one)) == []  # one error in a quiet spell: no page


def _histogram(process: str, count: int, seconds: float) -> dict[str, list]:
    buckets = [
        ({"process": process, "le": str(b)}, float(count if seconds <= b else 0)) for b in BOUNDS
    ]
    return {
        "rampart_db_query_seconds_bucket": buckets,
        "rampart_db_query_seconds_count": [({"process": process}, float(count))],
    }


def _merged(*parts: dict[str, list]) -> dict[str, list]:
    out: dict[str, list] = {}
    for part in parts:
        for name, series in part.items():
            out.setdefault(name, []).extend(series)
    return out


def test_database_slow_names_the_slow_process_behind_a_busy_fast_one() -> None:
    rule = _rule("DatabaseSlow")
    before = _merged(_histogram("server", 0, 0.001), _histogram("worker-2", 0, 0.04))
    after = _merged(_histogram("server", 10_000, 0.001), _histogram("worker-2", 200, 0.04))
    readings = {r.labels["process"]: r.value for r in rule.signal.compute(_view(before, after))}
    assert rule.holds(readings["worker-2"]) and not rule.holds(readings["server"])
    assert "p95 of worker-2 over 5 minutes" in rule.describe({"process": "worker-2"})

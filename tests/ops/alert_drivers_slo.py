"""The drivers of plan 003's service-level rules for the alert harness: API requests
with a share of server errors on the API's own metrics (ApiSuccessLow), and database statements
timed on either side of 10 ms (DatabaseSlow); the backup due time moved past or onto now
(BackupMissed)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING
from weakref import WeakKeyDictionary

from prometheus_client import CollectorRegistry

from rampart.observability.api_metrics import ApiMetrics
from rampart.observability.backup_metrics import backup_metrics

if TYPE_CHECKING:
    from tests.ops.alert_drivers import Driver
    from tests.ops.alert_harness import Harness

_API: WeakKeyDictionary[CollectorRegistry, ApiMetrics] = WeakKeyDictionary()


def _api(h: Harness) -> ApiMetrics:
    # The API's metrics are registered by the HTTP app, once per registry: the harness has none.
    registry = h.metrics.registry
    if registry not in _API:
        _API[registry] = ApiMetrics(registry)
    return _API[registry]


def _requests(total: int, failed: int) -> Callable[[Harness], None]:
    def act(h: Harness) -> None:
        api = _api(h)
        for i in range(total):
            api.observe("GET", "/api/v1/health", 500 if i < failed else 200, 0.002)

    return act


def _statements(n: int, seconds: float) -> Callable[[Harness], None]:
    def act(h: Harness) -> None:
        for _ in range(n):
            h.metrics.db_query(seconds)

    return act


def _overdue(by_s: float) -> Callable[[Harness], None]:
    """The next backup was due ``by_s`` ago (negative: due later)."""

    def act(h: Harness) -> None:
        backup_metrics(h.metrics.registry).due.set(h.now_s - by_s)

    return act


def _nothing(h: Harness) -> None:
    return None


def slo_drivers(driver: type[Driver]) -> dict[str, Driver]:
    return {
        # 6 of 1000 is 0.6 % (past 0.5 %); 5 of 1000 is on the threshold.
        "ApiSuccessLow": driver(
            fire=_requests(1000, 6),
            sustain_fire=_requests(1000, 6),
            quiet=_requests(1000, 5),
            sustain_quiet=_requests(1000, 5),
            clear=_nothing,
            windowed=True,
        ),
        # 20 ms statements put the p95 at 24.25 ms (10–25 ms bucket); 10 ms ones at 9.75 ms.
        "DatabaseSlow": driver(
            fire=_statements(60, 0.020),
            sustain_fire=_statements(60, 0.020),
            quiet=_statements(60, 0.010),
            sustain_quiet=_statements(60, 0.010),
            clear=_nothing,
            windowed=True,
        ),
        # Due a minute ago fires; due right now is not yet missed.
        "BackupMissed": driver(
            fire=_overdue(60),
            sustain_fire=_overdue(60),
            quiet=_overdue(0),
            sustain_quiet=_overdue(0),
            clear=_overdue(-6 * 3600),
        ),
    }

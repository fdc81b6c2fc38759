"""The service-level targets of plan 003 as alert rules.

ApiSuccessLow (P1): more than 0.5 % of the HTTP API's requests were answered with a server
error over five minutes (plan 003: API success rate > 99.5 %), once 200 requests were seen so
that one error in a quiet minute does not page, or once 10 server errors were (so an API that
fails every request of a quiet five minutes pages too). DatabaseSlow (P2): the p95 of database
statement time over five minutes is above 10 ms (plan 003: database response < 10 ms), once 50
statements ran, per process (the fleet's series carry a ``process`` label; summed, one slow
worker hid behind a busy server's fast statements). The measured baseline of both is in
docs/operations/slo-baseline.md.
"""

from __future__ import annotations

from rampart.observability.alerts.rule import AlertRule
from rampart.observability.alerts.signals import QuantileSignal, RatioSignal

API_REQUESTS = "rampart_api_requests_total"
API_SERVER_ERRORS = "rampart_api_server_errors_total"
DB_QUERY = "rampart_db_query_seconds"
API_ERROR_SHARE = 0.005
"""Plan 003's API success > 99.5 %: the share of server errors it allows."""
API_MIN_ERRORS = 10
"""Server errors in the window that are judged whatever the request count."""
DB_P95_S = 0.010
"""Plan 003's database response < 10 ms, read as the statements' p95."""


def slo_rules() -> list[AlertRule]:
    return [
        AlertRule(
            "ApiSuccessLow",
            "P1",
            "More than {threshold} of API requests failed with a server error in {window}: "
            "the API's success rate is under plan 003's 99.5 %.",
            RatioSignal(API_SERVER_ERRORS, API_REQUESTS, 300, 200, min_count=API_MIN_ERRORS),
            ">",
            API_ERROR_SHARE,
            120,
            unit="ratio",
            step=0.001,
        ),
        AlertRule(
            "DatabaseSlow",
            "P2",
            "Database statement p95 of {process} over {window} is above {threshold} (plan "
            "003: < 10 ms).",
            QuantileSignal(DB_QUERY, 0.95, 300, 50, by=("process",)),
            ">",
            DB_P95_S,
            120,
            unit="s",
            step=0.01,
        ),
    ]


__all__ = ["API_ERROR_SHARE", "DB_P95_S", "slo_rules"]

"""Failed authentication over a real server: budgeted per client address (429 past it, with no
database lookup), logged with the address and a count but never the token, counted in
``rampart_api_auth_failures_total``; and the budgets' structures stay bounded."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
import structlog

from rampart.api.limits import ALL_CLIENTS_FACTOR, FailureLimiter
from rampart.clock import SimClock
from rampart.runtime.ratelimit import RateLimiter
from tests.api.conftest import LiveApi

PATH = "/api/v1/admin/accounts"


@contextmanager
def warnings_logged() -> Iterator[list[dict[str, Any]]]:
    """Every log entry at warning and above while inside (tests keep only errors otherwise)."""
    before = structlog.get_config()["wrapper_class"]
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    try:
        with structlog.testing.capture_logs() as entries:
            yield entries
    finally:
        structlog.configure(wrapper_class=before)


@contextmanager
def token_queries(db: sa.Engine) -> Iterator[list[str]]:
    """The statements that read the token table while inside (a token's last use is written
    in the background now and then: that is no lookup)."""
    seen: list[str] = []

    def note(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if "api_tokens" in statement and statement.lstrip().upper().startswith("SELECT"):
            seen.append(statement)

    sa.event.listen(db, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        sa.event.remove(db, "before_cursor_execute", note)


def _wrong() -> str:
    return "rp_" + secrets.token_urlsafe(32)


def _failures(api: LiveApi, outcome: str) -> float:
    value = api.metrics.registry.get_sample_value(
        "rampart_api_auth_failures_total", {"outcome": outcome}
    )
    return value or 0.0


def test_wrong_tokens_are_limited_per_address_logged_and_never_looked_up_past_the_limit(
    make_live: Callable[..., LiveApi],
) -> None:
    api = make_live(warm=10, api={"auth_failures_per_minute": 5})
    assert api.get(PATH).status_code == 200  # the admin token is known before the attack
    wrong = [_wrong() for _ in range(40)]
    with warnings_logged() as logs, token_queries(api.session.db) as queries:
        refused = [api.get(PATH, who=token) for token in wrong[:5]]
        looked_up = len(queries)
        limited = [api.get(PATH, who=token) for token in wrong[5:]]
        # The operator's own token still works from the same address, mid-attack.
        assert api.get(PATH).status_code == 200
        after = len(queries)

    assert [r.status_code for r in refused] == [401] * 5
    assert looked_up == 5, "each unknown token is looked up once, while under the budget"
    assert [r.status_code for r in limited] == [429] * 35
    assert after == looked_up, "past the budget an unknown token costs no database query"
    first = limited[0]
    assert first.headers["retry-after"] == "12"  # one failure refills in 60 s / 5
    assert first.json() == {
        "error": "Too many failed authentications from this address; try again in 12 s."
    }

    assert _failures(api, "refused") == 5
    assert _failures(api, "limited") == 35
    failed = [e for e in logs if e["event"] == "api_auth_failed"]
    assert [(e["client"], e["failures"]) for e in failed] == [("127.0.0.1", n) for n in range(1, 6)]
    # The limit is logged once when it starts, not once per request.
    assert [(e["client"], e["failures"]) for e in logs if e["event"] == "api_auth_limited"] == [
        ("127.0.0.1", 6)
    ]
    text = repr(logs)
    assert not any(token in text or token[:10] in text for token in wrong)

    # The budget refills on the ops clock: one more lookup after 12 s, then limited again.
    api.ops.advance(12_000)
    assert api.get(PATH, who=_wrong()).status_code == 401
    assert api.get(PATH, who=_wrong()).status_code == 429


def test_a_malformed_token_is_a_failure_too(make_live: Callable[..., LiveApi]) -> None:
    api = make_live(warm=10, api={"auth_failures_per_minute": 2})
    for header in ("Bearer not-ours", "Bearer " + "x" * 5000):
        r = api.client.get(PATH, headers={"Authorization": header})
        assert r.status_code == 401
    assert api.client.get(PATH, headers={"Authorization": "Bearer nope"}).status_code == 429
    # No token at all is not a guess: still the plain 401 that asks for one.
    assert api.get(PATH, who=None).status_code == 401


def test_the_limiters_remember_a_bounded_number_of_keys() -> None:
    clock = SimClock(0)
    per_token = RateLimiter(clock, 5, max_keys=100)
    for key in range(1_000):
        per_token.take(key)
    assert len(per_token) == 100
    # The most recently used keys are the ones kept: key 999 has spent one of its five.
    assert per_token.bucket(999).level == 4

    failures = FailureLimiter(clock, 1, max_clients=50)
    for n in range(ALL_CLIENTS_FACTOR):
        assert failures.blocked(f"10.0.0.{n}") is None
        failures.failed(f"10.0.0.{n}")
    assert len(failures) == ALL_CLIENTS_FACTOR
    # Ten addresses spent the budget all addresses share: a new address is refused too, so
    # inventing addresses (or being forgotten past the bound) buys a guesser nothing.
    assert failures.blocked("10.0.1.1") is not None
    for n in range(1_000):
        failures.refused(f"10.1.{n // 256}.{n % 256}")
    assert len(failures) == 50
    clock.advance(60_000)
    assert failures.blocked("10.0.1.1") is None

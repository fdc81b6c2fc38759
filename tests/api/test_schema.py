"""schemathesis against the OpenAPI document the server serves: generated requests, valid and
not, never get a 5xx; every protected operation refuses a request without a valid token (the
``ignored_auth`` check); responses match the documented codes, content types and schemas."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
import sqlalchemy as sa
from hypothesis import HealthCheck, settings
from schemathesis.config import HttpBearerAuthConfig

from rampart.api.app import create_app
from rampart.api.openapi_truth import narrow
from rampart.security.tokens import PREFIX_LEN, hash_token
from rampart.store import models as m
from tests.api.conftest import LiveApi

# schemathesis applies these through its own auth (not a fixed header), so its negative cases
# that leave the token out really go without it. They are fixed because schemathesis reads
# them when tests are collected; the service stores their hashes as it does for any token.
ADMIN_TOKEN = "rp_schemathesis-admin-" + "0" * 21
ALICE_TOKEN = "rp_schemathesis-alice-" + "0" * 21
READER_TOKEN = "rp_schemathesis-reader" + "0" * 21


def _token_row(token: str, scope: str, account_id: str | None) -> dict[str, Any]:
    return {
        "token_hash": hash_token(token),
        "prefix": token[:PREFIX_LEN],
        "scope": scope,
        "account_id": account_id,
        "name": f"schemathesis-{scope}",
        "created_at": 0,
    }


# The document is built from the routes alone, as a paper service serves it (the engine-start
# mode narrowed to its own); a test below checks the server serves this one.
DOCUMENT = narrow(create_app(None).openapi(), "paper")  # type: ignore[arg-type]
schema = schemathesis.openapi.from_dict(DOCUMENT)
# Valid-looking commands may still be refused for the service's state, which no schema can
# say (starting a live engine on a paper service, a symbol the feed does not carry): a 400
# with a sentence is the documented answer then. Server errors are never acceptable.
schema.config.checks.positive_data_acceptance.expected_statuses = [
    "2xx",
    "400",
    "401",
    "403",
    "404",
    "409",
    "429",
]

# An investor's token, on every protected operation: generated requests may succeed only on its
# own account; everything else (another account, any operator endpoint) is refused.
user_schema = schemathesis.openapi.from_dict(DOCUMENT).include(path_regex="^/api/v1/")
user_schema.config.checks.positive_data_acceptance.expected_statuses = ["2xx", "403", "404"]
# A read-scope token (dashboards, the panel's viewers): every account may be read, nothing may
# be changed; a write operation it gets a 2xx from is a hole in the scope check.
read_schema = schemathesis.openapi.from_dict(DOCUMENT)
read_schema.config.checks.positive_data_acceptance.expected_statuses = ["2xx", "400", "403", "404"]
schema.config.auth.openapi.schemes["token"] = HttpBearerAuthConfig(bearer=ADMIN_TOKEN)
read_schema.config.auth.openapi.schemes["token"] = HttpBearerAuthConfig(bearer=READER_TOKEN)
user_schema.config.auth.openapi.schemes["token"] = HttpBearerAuthConfig(bearer=ALICE_TOKEN)


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveApi]:
    # A high rate: schemathesis sends thousands of requests while the ops clock stands still;
    # its invalid-token checks expect 401, not the 429 that many failures from one address get.
    api = LiveApi(
        tmp_path_factory.mktemp("schema"),
        rate_per_minute=10**7,
        api={"auth_failures_per_minute": 10**7},
    )
    try:
        api.start(warm=600)
        rows = [
            _token_row(ADMIN_TOKEN, "admin", None),
            _token_row(ALICE_TOKEN, "user", "alice"),
            _token_row(READER_TOKEN, "read", None),
        ]
        with api.session.db.begin() as conn:
            conn.execute(sa.insert(m.api_tokens), rows)
        yield api
    finally:
        api.stop()


def test_the_server_serves_the_document_under_test(service: LiveApi) -> None:
    assert service.get("/openapi.json", who=None).json() == DOCUMENT


@schema.parametrize()
@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
def test_admin_token_no_server_errors_and_auth_enforced(case: Any, service: LiveApi) -> None:
    case.call_and_validate(base_url=service.server.url)


def only_its_own_account(ctx: Any, response: Any, case: Any) -> None:
    if 200 <= response.status_code < 300:
        path = case.formatted_path
        assert path.startswith("/api/v1/accounts/alice/"), f"a user token read {path}"


@user_schema.parametrize()
@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
def test_user_token_reaches_only_its_own_account(case: Any, service: LiveApi) -> None:
    case.call_and_validate(base_url=service.server.url, additional_checks=[only_its_own_account])


def reads_only(ctx: Any, response: Any, case: Any) -> None:
    if 200 <= response.status_code < 300:
        assert case.method.upper() in {"GET", "HEAD", "OPTIONS"}, (
            f"a read token changed something: {case.method} {case.formatted_path}"
        )


@read_schema.parametrize()
@settings(max_examples=10, deadline=None, suppress_health_check=list(HealthCheck))
def test_read_token_reads_everything_and_changes_nothing(case: Any, service: LiveApi) -> None:
    case.call_and_validate(base_url=service.server.url, additional_checks=[reads_only])

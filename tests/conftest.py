"""Shared fixtures: real databases, the shared real-candle directory, simulated time."""

from __future__ import annotations

import decimal
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}

# The CLI's messages go through rich, which wraps at the terminal's width (80 columns when
# there is no terminal) and can break a long temporary path in two; the tests compare whole
# sentences, so they get a console wide enough for any path (xdist's are longer).
os.environ["COLUMNS"] = "250"
# The suite runs the pure source, in process and in the `rampart` commands it starts (tests
# patch the Python modules); tests/test_compiled_core.py runs the compiled core on purpose.
os.environ.setdefault("RAMPART_PURE", "1")

# A property test's verdict must not depend on how loaded the machine is (once
# test_a_price_inside_the_band_is_never_off failed with too_slow on a shared 2-core machine):
# no per-example deadline and no too_slow health check, for the whole suite. The example counts
# stay each test's own (Hypothesis's default, or its @settings). A test that names its own
# suppress_health_check list replaces this one, so such a list must name too_slow as well
# (tests/test_hypothesis_profile.py checks every one).
LOAD_PROOF = {"deadline": None, "suppress_health_check": [HealthCheck.too_slow]}
settings.register_profile("suite", **LOAD_PROOF)  # type: ignore[arg-type]
# In CI the property-based tests replay the same examples on every run, so a submission's
# verdict does not depend on the luck of the draw; on a developer's machine they explore anew
# each run (and Hypothesis remembers what failed), which is where new bugs get found.
settings.register_profile("ci", derandomize=True, print_blob=True, **LOAD_PROOF)  # type: ignore[arg-type]
settings.load_profile("ci" if IN_CI else "suite")


@pytest.fixture(autouse=True)
def _no_migration_guard_left_behind() -> Iterator[None]:
    """A command run through CliRunner installs the backup-before-migrating guard for its
    settings' store (rampart.wiring.backups); it must not outlive that test."""
    yield
    from rampart.store.db import guard_migrations

    guard_migrations(None)


@pytest.fixture(autouse=True)
def _times_shown_as_they_are() -> Iterator[None]:
    """A bot built on a simulated feed shows times on its wall axis (rampart.clock's
    show_times_of, module state): a later test in the same worker must not inherit it."""
    yield
    from rampart.clock import show_times_of

    show_times_of(None)


@pytest.fixture(autouse=True)
def _fresh_decimal_context() -> Iterator[None]:
    """Each test starts from Python's default decimal context: a test that calls ccxt directly
    leaves ROUND_HALF_UP behind (ccxt's decimal_to_precision), which moved the last digit of a
    later replay's figures in the same worker (tests/exchange/test_decimal_context.py shows
    the venue itself keeps the context)."""
    with decimal.localcontext(decimal.Context()):
        yield


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    del config
    for item in items:
        callspec = getattr(item, "callspec", None)
        on_pg = callspec is not None and callspec.params.get("db_url") == "postgresql"
        if on_pg or "pg_url" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.pg)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    # In CI a PostgreSQL test that skips is a failure: CI must prove the store on PostgreSQL.
    # Changed as the report is made, before anything reads it (a report turned into a failure
    # after the terminal counted it as a skip crashed pytest's summary), keeping the reason.
    del call
    made = yield
    report: pytest.TestReport = made.get_result()  # type: ignore[attr-defined]
    if IN_CI and report.skipped and item.get_closest_marker("pg") is not None:
        longrepr = report.longrepr
        why = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
        report.outcome = "failed"
        report.longrepr = (
            f"PostgreSQL test skipped in CI ({why}); CI must run it: set RAMPART_TEST_PG_URL "
            "and keep ../shared/data beside the checkout"
        )


@contextmanager
def fresh_pg_schema(base: str) -> Iterator[str]:
    """``base`` (a PostgreSQL URL) with its search_path on a new schema, dropped afterwards."""
    import sqlalchemy as sa

    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(base)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in base else "?"
    try:
        yield f"{base}{sep}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A PostgreSQL URL whose search_path is a fresh schema, dropped afterwards."""
    base = os.environ.get("RAMPART_TEST_PG_URL")
    if not base:
        pytest.skip("RAMPART_TEST_PG_URL is not set")
    with fresh_pg_schema(base) as url:
        yield url


@pytest.fixture
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real candles not found at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Both backends: every store test runs on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'rampart.db'}"
    return request.getfixturevalue("pg_url")


def _quiet_logs() -> None:
    # Tests read events, not logs; debug lines from millions of orders would drown the output.
    import logging

    import structlog

    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.ERROR))


_quiet_logs()


@pytest.fixture(autouse=True)
def _logs_back_to_quiet() -> Iterator[None]:
    """A test that points structlog at its own stream (pytest's captured stderr, a log file)
    must not leave the next test in the worker writing to it once it is closed ("I/O
    operation on closed file" from any error logged later)."""
    yield
    import structlog

    structlog.reset_defaults()
    _quiet_logs()

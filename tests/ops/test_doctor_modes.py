"""``rampart doctor`` says, one line each, whether mode, feed and venue agree, whether the
master key is set, whether the store fits the mode, and who would reconcile the venue: the
same rules ``rampart run`` refuses to start on."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from rampart.cli.main import app
from rampart.config import load_settings
from rampart.security.secrets import generate_key
from rampart.wiring.doctor import Check, check_reconciliation, run_checks

NOW = 1_767_225_600_000
PG = "postgresql+psycopg://rampart@127.0.0.1:1/rampart"
SIM = "http://127.0.0.1:9"
EXCHANGE = {"feed": {"kind": "ccxt"}, "venue": {"kind": "ccxt"}}
ALLOWED = {"allow_sqlite_on_exchange": True}
EVERY = "at start, after every reconnect and every 300 s"
BY_LOOP = f"binance is reconciled {EVERY}, between its candles."
FEED_REFUSAL = (
    "Mode live must trade on the exchange's own candles, not synthetic ones: set 'feed.kind' "
    "to ccxt."
)
SQLITE_REFUSAL = (
    "Mode {mode} keeps the record of exchange orders in PostgreSQL: set 'store.url' to a "
    "postgresql+psycopg:// URL, or 'store.allow_sqlite_on_exchange' to true to accept SQLite."
)


def by_component(feed: str) -> str:
    return f"binance is reconciled {EVERY} of wall time, by its own component (the feed is {feed})."


def _checks(tmp_path: Path, **over: Any) -> dict[str, Check]:
    store = {"url": f"sqlite:///{tmp_path / 'absent.db'}", **over.pop("store", {})}
    settings = load_settings(store=store, **over)
    return {c.name: c for c in run_checks(settings, NOW)}


@pytest.mark.parametrize(
    ("over", "mode", "store", "reconciliation"),
    [
        (
            {},
            ("OK", "paper: synthetic candles, orders to the in-process paper venue."),
            ("OK", "SQLite, enough for paper mode."),
            ("OK", "not needed: the paper venue keeps the books itself."),
        ),
        (
            # The issue's finding: RAMPART_MODE=live RAMPART_VENUE__KIND=ccxt, nothing else.
            {"mode": "live", "venue": {"kind": "ccxt"}, "master_key": None},
            ("FAIL", FEED_REFUSAL),
            ("FAIL", SQLITE_REFUSAL.format(mode="live")),
            ("OK", by_component("synthetic")),
        ),
        (
            {"mode": "live", **EXCHANGE, "store": {"url": PG}},
            ("OK", "live: orders to binance with real money through ccxt, on its own candles."),
            ("OK", "PostgreSQL."),
            ("OK", BY_LOOP),
        ),
        (
            {"mode": "live", **EXCHANGE, "store": ALLOWED},
            ("OK", "live: orders to binance with real money through ccxt, on its own candles."),
            (
                "WARN",
                "SQLite, accepted by store.allow_sqlite_on_exchange; move the books to "
                "PostgreSQL before real money rides on them.",
            ),
            ("OK", BY_LOOP),
        ),
        (
            {"mode": "testnet", **EXCHANGE, "store": ALLOWED},
            ("OK", "testnet: orders to binance's testnet through ccxt, on its own candles."),
            ("OK", "SQLite, accepted by store.allow_sqlite_on_exchange for a testnet trial."),
            ("OK", BY_LOOP),
        ),
        (
            {
                "venue": {"kind": "ccxt", "api_url": SIM},
                "feed": {"kind": "replay", "path": __file__},
            },
            (
                "OK",
                f"paper: orders to the exchange at {SIM} (as binance) through ccxt, on replay "
                "candles.",
            ),
            ("OK", "SQLite, enough for paper mode."),
            ("OK", by_component("replay")),
        ),
        (
            {"venue": {"kind": "ccxt"}},
            (
                "FAIL",
                "Mode paper would send real orders to binance: set 'venue.sandbox' to true for "
                "its testnet, or 'mode' to live.",
            ),
            ("OK", "SQLite, enough for paper mode."),
            ("OK", by_component("synthetic")),
        ),
        (
            {"mode": "testnet"},
            (
                "FAIL",
                "Mode testnet sends orders to an exchange: set 'venue.kind' to ccxt. (and 1 more "
                "to fix)",
            ),
            ("FAIL", SQLITE_REFUSAL.format(mode="testnet")),
            ("OK", "not needed: the paper venue keeps the books itself."),
        ),
    ],
)
def test_mode_store_and_reconciliation_lines(
    tmp_path: Path,
    over: dict[str, Any],
    mode: tuple[str, str],
    store: tuple[str, str],
    reconciliation: tuple[str, str],
) -> None:
    over.setdefault("master_key", generate_key())
    checks = _checks(tmp_path, **over)
    assert (checks["mode"].status, checks["mode"].message) == mode
    assert (checks["store kind"].status, checks["store kind"].message) == store
    got = checks["reconciliation"]
    assert (got.status, got.message) == reconciliation


@pytest.mark.parametrize(
    ("mode", "status"), [("paper", "WARN"), ("testnet", "FAIL"), ("live", "FAIL")]
)
def test_the_master_key_line_fails_an_exchange_mode_without_one(
    tmp_path: Path, mode: str, status: str
) -> None:
    checks = _checks(tmp_path, mode=mode, master_key=None, **EXCHANGE, store={"url": PG})
    assert checks["master key"].status == status
    assert "rampart secrets generate" in checks["master key"].message
    keyed = _checks(tmp_path, mode=mode, master_key=generate_key(), **EXCHANGE)
    assert keyed["master key"].status == "OK"


def test_a_reconcilable_venue_that_nothing_would_reconcile_fails(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The guard behind the rule: were the service's rule to leave a ccxt venue out, the
    # doctor says so instead of passing it.
    monkeypatch.setattr(
        "rampart.trading.reconcile.schedule.reconciled_by", lambda venue, feed: None
    )
    check = check_reconciliation(load_settings(venue={"kind": "ccxt", "api_url": SIM}))
    assert (check.status, check.message) == (
        "FAIL",
        "nothing would reconcile the ccxt venue with the books.",
    )


def test_the_cli_prints_one_line_per_check_for_the_issues_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # no ./rampart.yaml of the checkout's
    env = {
        "RAMPART_MODE": "live",
        "RAMPART_VENUE__KIND": "ccxt",
        "RAMPART_STORE__URL": f"sqlite:///{tmp_path / 'absent.db'}",
        "RAMPART_MASTER_KEY": "",
    }
    result = CliRunner().invoke(app, ["doctor"], env=env)
    assert result.exit_code == 1, result.output
    lines = [" ".join(line.split()) for line in result.output.splitlines()]
    assert lines[:4] == [
        f"FAIL mode: {FEED_REFUSAL}",
        "FAIL master key: RAMPART_MASTER_KEY is not set, so exchange keys cannot be stored "
        "encrypted; make one with `rampart secrets generate` and set it in the service's "
        "environment.",
        f"FAIL store kind: {SQLITE_REFUSAL.format(mode='live')}",
        f"OK reconciliation: {by_component('synthetic')}",
    ]

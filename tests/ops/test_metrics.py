"""Metrics: the exposition parses and carries the documented names; bus events, database
statements and error logs all move them (the venue calls: test_venue_metrics.py)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import sqlalchemy as sa
import structlog

from rampart.domain.accounts import TradingState
from rampart.domain.events import (
    AccountStateChanged,
    BreakerTripped,
    InvariantViolated,
    KillSwitchChanged,
    OrderUpdated,
    ReconciliationRepaired,
)
from rampart.domain.orders import OrderStatus
from rampart.observability.db_metrics import instrument_database
from rampart.observability.metrics import Metrics, install_log_counter
from rampart.store.db import open_database
from tests.ops.metric_samples import _order, samples, value

REQUIRED = {
    "rampart_orders_total",
    "rampart_order_submissions_total",
    "rampart_order_latency_seconds_bucket",
    "rampart_signal_latency_seconds_bucket",
    "rampart_exchange_requests_seconds_bucket",
    "rampart_exchange_errors_total",
    "rampart_open_positions",
    "rampart_equity",
    "rampart_realized_pnl",
    "rampart_feed_staleness_seconds",
    "rampart_component_up",
    "rampart_component_heartbeat_timestamp_seconds",
    "rampart_database_up",
    "rampart_db_query_seconds_bucket",
    "rampart_event_lag",
    "rampart_breaker_trips_total",
    "rampart_kill_switch_engaged",
    "rampart_reconciliation_repairs_total",
    "rampart_account_problems",
    "rampart_log_errors_total",
}


def test_exposition_parses_and_has_every_documented_name() -> None:
    m = Metrics()
    m.on_event(OrderUpdated(1, _order(OrderStatus.SUBMITTED), OrderStatus.NEW))
    m.order_latency("paper", 0.004)
    m.signal_latency(0.0123)
    m.exchange_call("paper", 0.02)
    m.exchange_error("paper", "timeout")
    m.feed_staleness("BTC/USDT", 3)
    m.component_up("engine", True)
    m.heartbeat("engine", 1_700_000_000)
    m.db_query(0.0007)
    m.event_lag(4)
    m.on_event(BreakerTripped(1, "a1", "daily_loss", "x"))
    m.repair("missing_order")
    m.log_error()
    found = samples(m)
    assert set(found) >= REQUIRED, REQUIRED - set(found)
    assert "process_resident_memory_bytes" in found and "python_info" in found
    # Millisecond resolution at the low end, and no per-investor label anywhere.
    bounds = {lab["le"] for lab, _ in found["rampart_order_latency_seconds_bucket"]}
    assert {"0.001", "0.0025", "0.005", "10.0", "+Inf"} <= bounds
    assert not any("account" in k for rows in found.values() for lab, _ in rows for k in lab)
    assert value(m, "rampart_signal_latency_seconds_bucket", le="0.025") == 1
    assert value(m, "rampart_exchange_errors_total", venue="paper", kind="timeout") == 1


def test_orders_are_counted_per_transition_and_submissions_per_answer() -> None:
    m = Metrics(venue="paper")
    path = [
        (OrderStatus.NEW, OrderStatus.SUBMITTED),
        (OrderStatus.SUBMITTED, OrderStatus.PARTIALLY_FILLED),
        (OrderStatus.PARTIALLY_FILLED, OrderStatus.PARTIALLY_FILLED),
        (OrderStatus.PARTIALLY_FILLED, OrderStatus.FILLED),
    ]
    for previous, status in path:
        m.on_event(OrderUpdated(1, _order(status), previous))
    m.on_event(OrderUpdated(1, _order(OrderStatus.REJECTED, "c2"), OrderStatus.NEW))
    m.on_event(OrderUpdated(1, _order(OrderStatus.UNKNOWN, "c3"), OrderStatus.NEW))
    assert value(m, "rampart_orders_total", status="submitted", venue="paper") == 1
    assert value(m, "rampart_orders_total", status="partially_filled") == 2
    assert value(m, "rampart_orders_total", status="filled") == 1
    assert value(m, "rampart_orders_total", status="rejected") == 1
    outcomes = {
        o: value(m, "rampart_order_submissions_total", outcome=o)
        for o in ("accepted", "rejected", "unknown")
    }
    assert outcomes == {"accepted": 1, "rejected": 1, "unknown": 1}


def test_account_problems_and_kill_switch_follow_events() -> None:
    m = Metrics()
    m.on_event(AccountStateChanged(1, "a1", TradingState.ACTIVE, TradingState.HALTED, "loss"))
    m.on_event(InvariantViolated(1, "a2", "equity", "off by 1"))
    assert value(m, "rampart_account_problems") == 2
    m.on_event(AccountStateChanged(2, "a1", TradingState.HALTED, TradingState.ACTIVE, "ok"))
    m.on_event(KillSwitchChanged(2, "a2", False, "fixed", "op"))  # resumed by an operator
    assert value(m, "rampart_account_problems") == 0
    m.on_event(KillSwitchChanged(3, "global", True, "drill", "op"))
    assert value(m, "rampart_kill_switch_engaged") == 1
    m.on_event(KillSwitchChanged(4, "global", False, "drill over", "op"))
    assert value(m, "rampart_kill_switch_engaged") == 0


def test_reconciliation_repairs_are_counted_by_kind_from_the_bus() -> None:
    # DESIGN §4: every repair is counted (ReconciliationRepairs alerts on the count).
    m = Metrics()
    m.on_event(ReconciliationRepaired(1, "a1", "fill_booked", "c1", "BTC/USDT", "late fill"))
    m.on_event(ReconciliationRepaired(2, "a2", "fill_booked", "c2", "BTC/USDT", "late fill"))
    m.on_event(ReconciliationRepaired(3, "a1", "order_closed", "c3", "BTC/USDT", "by hand"))
    assert value(m, "rampart_reconciliation_repairs_total", kind="fill_booked") == 2
    assert value(m, "rampart_reconciliation_repairs_total", kind="order_closed") == 1


def test_a_stopped_component_can_be_forgotten() -> None:
    m = Metrics()
    m.heartbeat("feed", 10)
    m.component_up("feed", False)
    m.forget_component("feed")
    m.forget_component("never-seen")
    assert "rampart_component_heartbeat_timestamp_seconds" not in samples(m)


def test_halts_are_counted_per_account_and_cooldowns_are_not() -> None:
    m = Metrics()
    active, reducing, halted = TradingState.ACTIVE, TradingState.REDUCING, TradingState.HALTED
    m.on_event(AccountStateChanged(1, "a1", active, reducing, "cooldown"))
    m.on_event(AccountStateChanged(1, "a2", active, halted, "daily loss"))
    m.on_event(AccountStateChanged(2, "a2", halted, halted, "drawdown as well"))
    m.on_event(AccountStateChanged(2, "a1", reducing, halted, "daily loss in a cooldown"))
    assert value(m, "rampart_account_halts_total") == 2
    assert value(m, "rampart_halted_accounts") == 2
    m.on_event(AccountStateChanged(3, "a2", halted, active, "a new UTC day"))
    assert value(m, "rampart_account_halts_total") == 2
    assert value(m, "rampart_halted_accounts") == 1


def test_database_statements_are_timed_until_the_listener_is_removed(tmp_path: Path) -> None:
    m = Metrics()
    db = open_database(f"sqlite:///{tmp_path / 'q.db'}")
    remove = instrument_database(db, m)
    with db.connect() as conn:
        for _ in range(3):
            conn.execute(sa.text("SELECT 1"))
        with pytest.raises(sa.exc.OperationalError):
            conn.execute(sa.text("SELECT * FROM no_such_table"))
    assert value(m, "rampart_db_query_seconds_count") == 4
    remove()
    with db.connect() as conn:
        conn.execute(sa.text("SELECT 1"))
    assert value(m, "rampart_db_query_seconds_count") == 4
    db.dispose()


def test_error_logs_are_counted_from_structlog_and_stdlib() -> None:
    m = Metrics()
    previous = structlog.get_config()
    uninstall = install_log_counter(m)
    try:
        log = structlog.get_logger("test")
        log.error("boom")
        log.warning("only a warning")
        logging.getLogger("lib").error("library failure")
        logging.getLogger("lib").warning("library warning")
        assert value(m, "rampart_log_errors_total") == 2
    finally:
        uninstall()
        structlog.configure(**previous)
    structlog.get_logger("test").error("after uninstall")
    assert value(m, "rampart_log_errors_total") == 2


def test_a_library_error_is_counted_once_when_logging_forwards_it_to_structlog(
    tmp_path: Path,
) -> None:
    """configure_logging sends stdlib warnings and errors on into structlog (one log file, one
    redaction): the stdlib handler and the structlog processor then saw the same record, and
    ErrorSpike counted a library's error twice."""
    from rampart.observability.logging import configure_logging

    m = Metrics()
    previous = structlog.get_config()
    configure_logging("info", "json", file=tmp_path / "r.log")
    uninstall = install_log_counter(m)
    try:
        logging.getLogger("lib").error("library failure")
        structlog.get_logger("test").error("boom")
        assert value(m, "rampart_log_errors_total") == 2
    finally:
        uninstall()
        structlog.configure(**previous)


def test_a_problem_names_its_account_and_cause_and_a_cooldown_is_none() -> None:
    """Once, InvestorProblem read a count that took cooldowns for halts and named no one."""
    m = Metrics()
    active, reducing, halted = TradingState.ACTIVE, TradingState.REDUCING, TradingState.HALTED
    m.on_event(AccountStateChanged(1, "a1", active, reducing, "3 losses", "cooldown"))
    assert value(m, "rampart_account_problems") == 0
    assert value(m, "rampart_accounts_cooling_down") == 1
    m.on_event(AccountStateChanged(2, "a2", active, halted, "lost 5 %", "daily_loss"))
    m.on_event(InvariantViolated(2, "a3", "equity", "off by 1"))
    assert value(m, "rampart_account_problems") == 2
    problem = "rampart_account_problem"
    assert value(m, problem, account="a2", cause="daily_loss") == 1
    assert value(m, problem, account="a3", cause="invariant") == 1
    assert m.registry.get_sample_value(problem, {"account": "a1", "cause": "cooldown"}) is None
    # The cooldown's account escalates to a halt: now it is one, under its new cause.
    m.on_event(AccountStateChanged(3, "a1", reducing, halted, "lost 5 %", "daily_loss"))
    assert value(m, problem, account="a1", cause="daily_loss") == 1
    assert value(m, "rampart_accounts_cooling_down") == 0
    m.on_event(AccountStateChanged(4, "a2", halted, active, "a new UTC day"))
    assert m.registry.get_sample_value(problem, {"account": "a2", "cause": "daily_loss"}) is None
    assert value(m, "rampart_account_problems") == 2


def test_investor_problem_says_which_account_and_why() -> None:
    from rampart.observability.alerts.rules import default_rules

    [rule] = [r for r in default_rules() if r.name == "InvestorProblem"]
    text = rule.describe({"account": "tg-101", "cause": "max_drawdown"})
    assert "tg-101" in text and "max_drawdown" in text, text
    assert "{{ $labels.account }}" in rule.annotation()


def test_the_websocket_state_is_on_metrics_from_the_start() -> None:
    """A paper run (no exchange feed) shows the gauge too, at ``not_used``; an exchange feed
    then moves it to ``connected`` or ``polling``."""
    m = Metrics(venue="paper")
    assert value(m, "rampart_feed_websocket_state", state="not_used") == 1
    assert value(m, "rampart_feed_websocket_state", state="connected") == 0
    m.launch.websocket_state("connected")
    assert value(m, "rampart_feed_websocket_state", state="not_used") == 0
    assert value(m, "rampart_feed_websocket_state", state="connected") == 1

"""Metrics: the exposition parses and carries the documented names; bus events, a trading engine
on a wrapped paper venue, database statements and error logs all move them."""

from __future__ import annotations

import asyncio
import logging
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import structlog
from prometheus_client.parser import text_string_to_metric_families

from rampart.agents.registry import make_agent
from rampart.clock import SimClock
from rampart.config import load_settings
from rampart.domain.accounts import AccountSpec, TradingState
from rampart.domain.errors import VenueError
from rampart.domain.events import (
    AccountStateChanged,
    BreakerTripped,
    InvariantViolated,
    KillSwitchChanged,
    OrderUpdated,
    ReconciliationRepaired,
)
from rampart.domain.orders import Order, OrderRole, OrderStatus, OrderType, Side
from rampart.market.synthetic import SyntheticFeed
from rampart.observability.db_metrics import instrument_database
from rampart.observability.exchange_calls import exchange_call
from rampart.observability.instrumented import InstrumentedVenue, error_kind, instrument_venue
from rampart.observability.metrics import Metrics, install_log_counter
from rampart.risk.profiles import get_profile
from rampart.store.db import open_database
from rampart.trading.bus import EventBus
from rampart.trading.engine import Engine
from rampart.trading.ports import Amend, MarketDrivenVenue, PolledVenue, Updates, VenueCapabilities
from rampart.wiring.instruments import instruments_for
from rampart.wiring.session import account_spec, quote_of
from rampart.wiring.venue_kinds import make_venue

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


def samples(metrics: Metrics) -> dict[str, list[tuple[dict[str, str], float]]]:
    body, content_type = metrics.render()
    assert content_type.startswith("text/plain")
    found: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in text_string_to_metric_families(body.decode()):
        for s in family.samples:
            found.setdefault(s.name, []).append((dict(s.labels), s.value))
    return found


def value(metrics: Metrics, name: str, **labels: str) -> float:
    return sum(v for lab, v in samples(metrics).get(name, []) if labels.items() <= lab.items())


def _order(status: OrderStatus, client_id: str = "c1") -> Order:
    return Order(
        client_id=client_id,
        account_id="a1",
        symbol="BTC/USDT",
        side=Side.BUY,
        type=OrderType.LIMIT,
        qty=Decimal(1),
        price=Decimal(100),
        role=OrderRole.ENTRY,
        status=status,
    )


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


def _engine(
    tmp_path: Path, metrics: Metrics
) -> tuple[Engine, SyntheticFeed, list[AccountSpec], SimClock]:
    settings = load_settings(store={"url": f"sqlite:///{tmp_path / 'm.db'}"})
    clock = SimClock(0)
    bus = EventBus()
    bus.subscribe(metrics.on_event)
    symbols = list(settings.feed.symbols)
    venue = instrument_venue(make_venue(settings, instruments_for(symbols), clock), metrics)
    engine = Engine(
        venue=venue,
        clock=clock,
        bus=bus,
        make_agent=make_agent,
        profile_for=lambda name: get_profile(name, None),
        taker_fee=settings.venue.taker_fee,
        history=settings.engine.history,
        equity_snapshot_ms=settings.engine.equity_snapshot_ms,
    )
    feed = SyntheticFeed(symbols, seed=settings.feed.seed, timeframe=settings.feed.timeframe)
    specs = [account_spec(cfg, quote_of(cfg.symbols)) for cfg in settings.accounts]
    return engine, feed, specs, clock


def test_a_trading_engine_on_a_wrapped_paper_venue_moves_the_metrics(tmp_path: Path) -> None:
    m = Metrics()
    engine, feed, specs, clock = _engine(tmp_path, m)
    assert isinstance(engine.venue, MarketDrivenVenue)

    async def trade() -> None:
        for spec in specs:
            await engine.add_account(spec)
        for i, candle in enumerate(feed.iter_candles()):
            if i >= 3000:
                break
            clock.set(candle.close_ts)
            await engine.on_candle(candle)

    asyncio.run(trade())
    m.sample_engine(engine)
    assert value(m, "rampart_order_submissions_total", outcome="accepted", venue="paper") > 0
    assert value(m, "rampart_orders_total", status="filled") > 0
    assert value(m, "rampart_order_latency_seconds_count", venue="paper") > 0
    assert value(m, "rampart_exchange_requests_seconds_count", venue="paper") > 0
    total = sum(engine.equity(a) for a in engine.accounts)
    assert value(m, "rampart_equity") == pytest.approx(float(total))
    open_now = sum(
        1 for a in engine.accounts.values() for p in a.ledger.positions.values() if p.qty
    )
    assert value(m, "rampart_open_positions") == open_now
    assert value(m, "rampart_accounts") == len(specs)


class _Remote:
    """A stand-in for a remote exchange: a polled venue whose calls fail on demand."""

    name = "remote"
    capabilities = VenueCapabilities(
        native_brackets=False,
        updates=Updates.POLLED,
        keyed_accounts=False,
        reconciliation=False,
        snapshots=False,
        amend=Amend.NONE,
    )

    def __init__(self) -> None:
        self.fail: Exception | None = None
        self.polls = 0

    def set_listener(self, listener: Any) -> None: ...

    def instrument(self, symbol: str) -> Any:
        return symbol

    async def open_account(self, account_id: str, balances: dict[str, Decimal]) -> None: ...

    async def submit(self, order: Order) -> None:
        if self.fail is not None:
            raise self.fail

    async def submit_oco(self, stop_loss: Order, take_profit: Order) -> None: ...

    async def cancel(self, account_id: str, client_id: str) -> None: ...

    async def fetch_order(self, account_id: str, client_id: str) -> None:
        return None

    async def fetch_open_orders(self, account_id: str) -> list[Any]:
        return []

    async def fetch_balances(self, account_id: str) -> dict[str, Any]:
        return {}

    async def poll(self) -> None:
        self.polls += 1

    def last_price(self, symbol: str) -> Decimal:
        return Decimal(7)


def test_the_wrapper_keeps_the_venue_kind_and_counts_failures_by_kind(tmp_path: Path) -> None:
    m = Metrics()
    settings = load_settings()
    paper = instrument_venue(make_venue(settings, instruments_for(["BTC/USDT"]), SimClock(0)), m)
    assert isinstance(paper, MarketDrivenVenue) and not isinstance(paper, PolledVenue)
    assert paper.capabilities.native_brackets is True and callable(paper.snapshot)  # type: ignore[attr-defined]

    remote = _Remote()
    wrapped = instrument_venue(remote, m)
    assert isinstance(wrapped, PolledVenue) and not isinstance(wrapped, MarketDrivenVenue)
    assert instrument_venue(wrapped, m) is wrapped
    assert wrapped.last_price("BTC/USDT") == Decimal(7)  # type: ignore[attr-defined]
    assert wrapped.capabilities == remote.capabilities

    async def calls() -> None:
        await wrapped.poll()  # type: ignore[attr-defined]
        await wrapped.submit(_order(OrderStatus.NEW))
        for failure in (TimeoutError(), VenueError("no", code="Insufficient Balance")):
            remote.fail = failure
            with pytest.raises(type(failure)):
                await wrapped.submit(_order(OrderStatus.NEW))

    asyncio.run(calls())
    assert remote.polls == 1
    assert value(m, "rampart_exchange_requests_seconds_count", venue="remote") == 4
    assert value(m, "rampart_order_latency_seconds_count", venue="remote") == 3
    assert value(m, "rampart_exchange_errors_total", kind="timeout") == 1
    assert value(m, "rampart_exchange_errors_total", kind="insufficient_balance") == 1

    quiet = instrument_venue(_Remote(), Metrics(), count_calls=False)
    assert isinstance(quiet, InstrumentedVenue) and not quiet.count_calls


def test_error_kinds_are_a_small_fixed_set() -> None:
    class RateLimitExceeded(Exception): ...

    class NetworkError(Exception): ...

    class RequestTimeout(NetworkError): ...

    assert error_kind(RateLimitExceeded()) == "rate_limit"
    assert error_kind(RequestTimeout()) == "timeout"
    assert error_kind(NetworkError()) == "network"
    assert error_kind(ConnectionResetError()) == "network"
    assert error_kind(ValueError("x")) == "other"


def test_the_exchange_hook_counts_each_attempt() -> None:
    m = Metrics()
    hook = m.exchange_hook("binance")
    hook("create_order", 0.05, None)
    hook("create_order", 1.5, "timeout")
    assert value(m, "rampart_exchange_requests_seconds_count", venue="binance") == 2
    assert value(m, "rampart_exchange_errors_total", venue="binance", kind="timeout") == 1


def test_the_hook_logs_each_counted_error_with_its_order_and_not_a_cancel_of_a_closed_one() -> None:
    """The ccxt venue reports HTTP attempts through the hook; the wrapper around it names the
    order. "No such open order" in answer to a cancel is the exchange saying the order
    finished already (an OCO leg closed with its partner): timed, not counted, not a warning."""
    m = Metrics()
    hook = m.exchange_hook("binance")
    about = {"call": "cancel", "account_id": "a1", "order": "rp-1-t", "symbol": "BTC/USDT"}
    before = structlog.get_config()["wrapper_class"]
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.INFO))
    try:
        with structlog.testing.capture_logs() as logs, exchange_call(about):
            hook("cancel_order", 0.05, "not_found")
            hook("cancel_order", 0.05, "timeout")
            hook("fetch_order", 0.05, "not_found")
    finally:
        structlog.configure(wrapper_class=before)
    assert value(m, "rampart_exchange_requests_seconds_count", venue="binance") == 3
    assert value(m, "rampart_exchange_errors_total", venue="binance", kind="not_found") == 1
    assert value(m, "rampart_exchange_errors_total", venue="binance", kind="timeout") == 1
    errors = [e for e in logs if e["event"] == "exchange_error"]
    assert [(e["endpoint"], e["kind"]) for e in errors] == [
        ("cancel_order", "timeout"),
        ("fetch_order", "not_found"),
    ]
    assert all(
        (e["log_level"], e["account_id"], e["order"], e["symbol"])
        == ("warning", "a1", "rp-1-t", "BTC/USDT")
        for e in errors
    )
    [closed] = [e for e in logs if e["event"] == "cancel_not_open"]
    assert closed["log_level"] == "info" and closed["order"] == "rp-1-t"


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
    """Issue 56: InvestorProblem read a count that took cooldowns for halts and named no one."""
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

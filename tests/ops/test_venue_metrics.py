"""Metrics of the venue calls: a trading engine on a wrapped paper venue moves them; the wrapper
keeps the venue's kind and counts failures by a small fixed set of kinds; the exchange hook counts
each attempt and logs each counted error with its order (continued from test_metrics.py)."""

from __future__ import annotations

import asyncio
import logging
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import structlog

from rampart.agents.registry import make_agent
from rampart.clock import SimClock
from rampart.config import load_settings
from rampart.domain.accounts import AccountSpec
from rampart.domain.errors import VenueError
from rampart.domain.orders import Order, OrderStatus
from rampart.market.synthetic import SyntheticFeed
from rampart.observability.exchange_calls import exchange_call
from rampart.observability.instrumented import InstrumentedVenue, error_kind, instrument_venue
from rampart.observability.metrics import Metrics
from rampart.risk.profiles import get_profile
from rampart.trading.bus import EventBus
from rampart.trading.engine import Engine
from rampart.trading.ports import Amend, MarketDrivenVenue, PolledVenue, Updates, VenueCapabilities
from rampart.wiring.instruments import instruments_for
from rampart.wiring.session import account_spec, quote_of
from rampart.wiring.venue_kinds import make_venue
from tests.ops.metric_samples import _order, value


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
    finished already (an OCO leg closed with its partner), and "no such order" to a look-up by
    client id that it never arrived (a request lost on the way): timed, not counted, not a
    warning. A fetch of an order by the exchange's own id that it does not know is a failure."""
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
            hook("lookup_order", 0.05, "not_found")
    finally:
        structlog.configure(wrapper_class=before)
    assert value(m, "rampart_exchange_requests_seconds_count", venue="binance") == 4
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
    [never] = [e for e in logs if e["event"] == "lookup_not_found"]
    assert never["log_level"] == "info" and never["order"] == "rp-1-t"

"""Prometheus metrics for the service, on one registry per :class:`Metrics` (tests make many).

Names follow Prometheus conventions: units in names, ``_total`` counters, histograms whose
buckets resolve milliseconds. Aggregates over accounts carry no per-investor label. The bus
feeds most of them through :meth:`Metrics.on_event`; the service reports the rest (latencies,
heartbeats, feed staleness, database state, event lag) through the small methods below. The
in-service alert engine reads this same registry, so what alerts see is what Prometheus sees.
"""

from __future__ import annotations

import contextlib
from decimal import Decimal
from typing import TYPE_CHECKING

import structlog
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    GCCollector,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
)

from rampart.domain.accounts import TradingState
from rampart.domain.events import (
    AccountStateChanged,
    BooksDiffer,
    BreakerTripped,
    EquitySnapshot,
    Event,
    FillBooked,
    IntentRejected,
    InvariantViolated,
    KillSwitchChanged,
    OrderUpdated,
    PositionChanged,
    ProtectionChanged,
    ReconciliationRepaired,
    ReportUnexplained,
    TradeClosed,
)
from rampart.domain.orders import OrderStatus
from rampart.observability.account_problems import AccountProblems
from rampart.observability.budget_metrics import BudgetMetrics
from rampart.observability.bus_metrics import BusMetrics
from rampart.observability.exchange_metrics import ExchangeReports
from rampart.observability.launch_metrics import LaunchMetrics
from rampart.observability.llm_metrics import LlmMetrics
from rampart.observability.log_counter import install_log_counter
from rampart.observability.people_metrics import PeopleMetrics
from rampart.observability.protection_metrics import ProtectionMetrics
from rampart.observability.scale_metrics import ScaleMetrics
from rampart.observability.solana_metrics import SolanaMetrics
from rampart.observability.stream_metrics import OrderStreamMetrics
from rampart.risk.restrictions import KILL_ON_POSITION_LOSS

if TYPE_CHECKING:
    from rampart.trading.engine import Engine

log = structlog.get_logger("rampart.metrics")

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
"""Seconds: 1 ms to 10 s, so a p95 can be told apart at millisecond scale."""

ACCEPTED, REJECTED, UNKNOWN = "accepted", "rejected", "unknown"
SUBMISSION_OUTCOMES = (ACCEPTED, REJECTED, UNKNOWN)
AUTH_OUTCOMES = ("refused", "limited")


class Metrics(ExchangeReports):
    """Every Rampart metric, registered on ``registry`` (a fresh one when None)."""

    def __init__(self, registry: CollectorRegistry | None = None, *, venue: str = "paper") -> None:
        if registry is None:
            # A fresh registry also reports the process (memory, CPU, open files) and Python
            # (GC, version); a caller's registry may have those already.
            registry = CollectorRegistry()
            ProcessCollector(registry=registry)
            PlatformCollector(registry=registry)
            GCCollector(registry=registry)
        self.registry = registry
        self.venue = venue
        """The venue label for order counts that come from bus events."""
        r = self.registry
        self._register_orders(r)
        self._register_books(r)
        self._register_health(r)
        self._register_controls(r)
        self.problems = AccountProblems(r)
        self.protection = ProtectionMetrics(r)
        self._register_reports(r)
        self.llm = LlmMetrics(r)
        self.solana = SolanaMetrics(r)
        self.people = PeopleMetrics(r)
        self.bus = BusMetrics(r)
        self.budget = BudgetMetrics(r)
        self.launch = LaunchMetrics(r)
        self.order_streams = OrderStreamMetrics(r, venue)
        self.scale = ScaleMetrics(r)
        self.breaker_trips.labels(breaker=KILL_ON_POSITION_LOSS)  # at zero: PositionLossKill
        self._positions: set[tuple[str, str]] = set()
        self._equity: dict[str, tuple[Decimal, Decimal, Decimal]] = {}
        self._halted: set[str] = set()
        self._paused: set[str] = set()
        # Summed when scraped, not per event: an hourly snapshot of 1,000 accounts would
        # otherwise re-add every account a thousand times on one candle.
        self.equity.set_function(lambda: self._total(0))
        self.cash.set_function(lambda: self._total(1))
        self.realized_pnl.set_function(lambda: self._total(2))
        self.database_up_g.set(1)
        self.prepare_venue(venue)

    def _register_orders(self, r: CollectorRegistry) -> None:
        """Orders, submissions and their latency, the signal latency, exchange calls."""
        self.orders = Counter(
            "rampart_orders_total",
            "Orders entering each status (counted per transition).",
            ["status", "venue"],
            registry=r,
        )
        self.submissions = Counter(
            "rampart_order_submissions_total",
            "Answers to order submissions: accepted, rejected, or unknown (timed out).",
            ["venue", "outcome"],
            registry=r,
        )
        self.order_latency_s = Histogram(
            "rampart_order_latency_seconds",
            "Time to send an order to the venue.",
            ["venue"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.signal_latency_s = Histogram(
            "rampart_signal_latency_seconds",
            "Time from a closed candle to the engine's decisions on it.",
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.exchange_requests_s = Histogram(
            "rampart_exchange_requests_seconds",
            "Duration of each call to an exchange (failed calls included).",
            ["venue"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.exchange_errors = Counter(
            "rampart_exchange_errors_total",
            "Failed exchange calls by kind (timeout, network, rate_limit, auth, …).",
            ["venue", "kind"],
            registry=r,
        )

    def _register_books(self, r: CollectorRegistry) -> None:
        """Positions, accounts, equity, cash, PnL, trades, fills, fees and refused intents."""
        self.open_positions = Gauge(
            "rampart_open_positions", "Open positions over all accounts.", registry=r
        )
        self.accounts = Gauge("rampart_accounts", "Accounts the engine trades.", registry=r)
        self.equity = Gauge(
            "rampart_equity", "Equity summed over all accounts, in quote currency.", registry=r
        )
        self.cash = Gauge(
            "rampart_cash", "Cash summed over all accounts, in quote currency.", registry=r
        )
        self.realized_pnl = Gauge(
            "rampart_realized_pnl",
            "Realized PnL summed over all accounts, in quote currency.",
            registry=r,
        )
        self.trades = Counter(
            "rampart_trades_total", "Closed trades by outcome.", ["outcome"], registry=r
        )
        self.fills = Counter(
            "rampart_fills_total", "Fills booked by order role.", ["role"], registry=r
        )
        self.fees = Counter(
            "rampart_fees_total", "Fees paid over all accounts, in quote currency.", registry=r
        )
        self.intent_rejections = Counter(
            "rampart_intent_rejections_total",
            "Intents the risk engine refused.",
            ["code"],
            registry=r,
        )

    def _register_health(self, r: CollectorRegistry) -> None:
        """The feed, the components, the database and the event bus."""
        self.feed_staleness_s = Gauge(
            "rampart_feed_staleness_seconds",
            "Seconds since the last candle per symbol.",
            ["symbol"],
            registry=r,
        )
        self.component_up_g = Gauge(
            "rampart_component_up", "1 when a component is running.", ["component"], registry=r
        )
        self.heartbeat_ts = Gauge(
            "rampart_component_heartbeat_timestamp_seconds",
            "Unix time of each component's last heartbeat.",
            ["component"],
            registry=r,
        )
        self.database_up_g = Gauge(
            "rampart_database_up", "1 when the database answers.", registry=r
        )
        self.db_query_s = Histogram(
            "rampart_db_query_seconds",
            "Duration of each database statement.",
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.event_lag_g = Gauge(
            "rampart_event_lag", "Events published but not yet handled.", registry=r
        )

    def _register_controls(self, r: CollectorRegistry) -> None:
        """Circuit breakers, halts, the kill switch, pauses and reconciliation."""
        self.breaker_trips = Counter(
            "rampart_breaker_trips_total",
            "Circuit-breaker decisions by breaker, losing-streak cooldowns (a short pause of "
            "entries) included; rampart_account_halts_total counts the halts alone.",
            ["breaker"],
            registry=r,
        )
        self.account_halts = Counter(
            "rampart_account_halts_total",
            "Accounts a circuit breaker halted (daily loss or max drawdown: no new entries "
            "until the next UTC day or an operator's resume), counted per account entering "
            "HALTED.",
            registry=r,
        )
        self.halted_accounts = Gauge(
            "rampart_halted_accounts", "Accounts halted by a circuit breaker now.", registry=r
        )
        self.kill_switch = Gauge(
            "rampart_kill_switch_engaged", "1 while the global kill switch is on.", registry=r
        )
        self.paused_accounts = Gauge(
            "rampart_paused_accounts", "Accounts paused by an operator.", registry=r
        )
        self.repairs = Counter(
            "rampart_reconciliation_repairs_total",
            "Differences with the venue repaired by reconciliation.",
            ["kind"],
            registry=r,
        )
        self.unrepaired = Gauge(
            "rampart_reconciliation_unrepaired_passes",
            "Reconciliation passes in a row whose repairs left the account's books differing "
            "from the venue (0: they match).",
            ["account"],
            registry=r,
        )

    def _register_reports(self, r: CollectorRegistry) -> None:
        """The venue's unexplained reports, holdings apart, logged errors and the API's refused
        tokens."""
        self.unexplained = Gauge(
            "rampart_venue_report_unexplained",
            "1 per order whose venue report the books could not take; its account trades "
            "close-only until an operator resumes it.",
            ["order"],
            registry=r,
        )
        self.held_apart = Gauge(
            "rampart_holdings_apart_accounts",
            "Accounts holding coins on the venue that Rampart did not buy (held apart).",
            ["symbol"],
            registry=r,
        )
        self.log_errors = Counter(
            "rampart_log_errors_total", "Error-level log records.", registry=r
        )
        self.api_auth_failures = Counter(
            "rampart_api_auth_failures_total",
            "API requests with a token that is not valid: refused (401), or limited (429: too "
            "many failures from the address, not looked up).",
            ["outcome"],
            registry=r,
        )
        for outcome in AUTH_OUTCOMES:  # at zero from the start, so increases count from it
            self.api_auth_failures.labels(outcome=outcome)

    def prepare_venue(self, venue: str) -> None:
        """Create the venue's series at zero, so windowed rates exist from the first scrape."""
        for outcome in SUBMISSION_OUTCOMES:
            self.submissions.labels(venue=venue, outcome=outcome)
        self.order_latency_s.labels(venue=venue)
        self.exchange_requests_s.labels(venue=venue)

    # -- bus --------------------------------------------------------------------------------

    def on_event(self, event: Event) -> None:
        """Bus subscriber: counts order transitions, trips, kill switch, positions and PnL."""
        if isinstance(event, OrderUpdated):
            self._order(event)
        elif isinstance(event, PositionChanged):
            key = (event.account_id, event.symbol)
            if event.position is None or event.position.qty == 0:
                self._positions.discard(key)
            else:
                self._positions.add(key)
            self.open_positions.set(len(self._positions))
        elif isinstance(event, EquitySnapshot):
            self._equity[event.account_id] = (event.equity, event.cash, event.realized_pnl)
        elif isinstance(event, TradeClosed):
            self.trades.labels(outcome="win" if event.trade.pnl > 0 else "loss").inc()
            self.launch.trade_closed(event.trade.exit_reason)
        elif isinstance(event, FillBooked):
            self.fills.labels(role=event.role).inc()
            self.fees.inc(float(event.fill.fee))
        elif isinstance(event, IntentRejected):
            self.intent_rejections.labels(code=event.code).inc()
        elif isinstance(event, BreakerTripped):
            self.breaker_trips.labels(breaker=event.breaker).inc()
        elif isinstance(event, AccountStateChanged):
            active = event.new is TradingState.ACTIVE
            self.problems.restricted(event.account_id, None if active else event.cause)
            if event.new is TradingState.HALTED:
                # A cooldown (REDUCING) is not a halt; an escalation HALTED -> HALTED (daily
                # loss, then drawdown) is the same account, not a second one.
                if event.old is not TradingState.HALTED:
                    self.account_halts.inc()
                self._halted.add(event.account_id)
            else:
                self._halted.discard(event.account_id)
            self.halted_accounts.set(len(self._halted))
        elif isinstance(event, InvariantViolated):
            self.problems.violated(event.account_id)
        elif isinstance(event, KillSwitchChanged):
            self._kill_switch(event)
        elif isinstance(event, ReportUnexplained):
            self.unexplained.labels(order=event.client_id or event.account_id).set(1)
        elif isinstance(event, ReconciliationRepaired):
            self.repair(event.kind)
        elif isinstance(event, BooksDiffer):
            self.unrepaired.labels(account=event.account_id).set(event.passes)
        elif isinstance(event, ProtectionChanged):
            self.protection.changed(event)

    def _order(self, event: OrderUpdated) -> None:
        status, previous = event.order.status, event.previous
        if status is previous and status is not OrderStatus.PARTIALLY_FILLED:
            return
        self.orders.labels(status=status.value, venue=self.venue).inc()
        if status in (OrderStatus.REJECTED, OrderStatus.UNKNOWN):
            # Counted as a failed order (and in OrdersFailing/OrderSuccessLow): say which.
            order = event.order
            log.warning(
                "order_rejected" if status is OrderStatus.REJECTED else "order_outcome_unknown",
                account_id=order.account_id,
                order=order.client_id,
                symbol=order.symbol,
                role=order.role.value,
                venue=self.venue,
                reason=order.reason,
            )
        if previous is OrderStatus.NEW:
            outcome = {OrderStatus.REJECTED: REJECTED, OrderStatus.UNKNOWN: UNKNOWN}.get(
                status, ACCEPTED
            )
            self.submissions.labels(venue=self.venue, outcome=outcome).inc()

    def _kill_switch(self, event: KillSwitchChanged) -> None:
        if event.scope == "global":
            self.kill_switch.set(1 if event.engaged else 0)
            return
        if event.engaged:
            self._paused.add(event.scope)
        else:
            self._paused.discard(event.scope)
            self.problems.resumed(event.scope)
        self.paused_accounts.set(len(self._paused))

    def _total(self, field: int) -> float:
        return float(sum((v[field] for v in self._equity.values()), Decimal(0)))

    def sample_engine(self, engine: Engine) -> None:
        """Set the state gauges from the engine itself (at start, after a restore, per beat)."""
        self.sample_engines([engine])

    def sample_engines(self, engines: list[Engine]) -> None:
        """The same over several engines (a worker's shards), each trading its own accounts."""
        accounts = {a: acct for engine in engines for a, acct in engine.accounts.items()}
        of = {a: engine for engine in engines for a in engine.accounts}
        self.accounts.set(len(accounts))
        self._positions = {
            (acct_id, symbol)
            for acct_id, acct in accounts.items()
            for symbol, position in acct.ledger.positions.items()
            if position.qty != 0
        }
        self.open_positions.set(len(self._positions))
        self._equity = {
            acct_id: (of[acct_id].equity(acct_id), acct.ledger.cash, acct.ledger.realized_pnl)
            for acct_id, acct in accounts.items()
        }
        self.problems.sample(
            {
                a: acct.cause
                for a, acct in accounts.items()
                if acct.state is not TradingState.ACTIVE
            },
            accounts,
        )
        self._halted = {a for a, acct in accounts.items() if acct.state is TradingState.HALTED}
        self.halted_accounts.set(len(self._halted))
        self.unexplained.clear()
        held: dict[str, int] = {}
        for acct in accounts.values():
            if acct.close_only:
                self.unexplained.labels(order=acct.unexplained_order or acct.account_id).set(1)
            for symbol in acct.held_apart:
                held[symbol] = held.get(symbol, 0) + 1
        self.held_apart.clear()
        for symbol, count in held.items():
            self.held_apart.labels(symbol=symbol).set(count)
        self._paused = {a for a, acct in accounts.items() if acct.paused}
        self.paused_accounts.set(len(self._paused))
        self.kill_switch.set(1 if any(e.controls.global_kill for e in engines) else 0)

    # -- reported by the service --------------------------------------------------------------

    def order_latency(self, venue: str, seconds: float) -> None:
        self.order_latency_s.labels(venue=venue).observe(seconds)

    def signal_latency(self, seconds: float) -> None:
        self.signal_latency_s.observe(seconds)

    def heartbeat(self, component: str, unix_s: float) -> None:
        """A component is alive at ``unix_s`` (Clock time in seconds)."""
        self.heartbeat_ts.labels(component=component).set(unix_s)

    def component_up(self, component: str, up: bool) -> None:
        self.component_up_g.labels(component=component).set(1 if up else 0)

    def forget_component(self, component: str) -> None:
        """Drop a component stopped on purpose, so no worker alert fires for it."""
        for gauge in (self.component_up_g, self.heartbeat_ts):
            with contextlib.suppress(KeyError):
                gauge.remove(component)

    def db_query(self, seconds: float) -> None:
        self.db_query_s.observe(seconds)

    def event_lag(self, n: int) -> None:
        self.event_lag_g.set(n)

    def feed_staleness(self, symbol: str, seconds: float) -> None:
        self.feed_staleness_s.labels(symbol=symbol).set(max(seconds, 0.0))

    def database_up(self, up: bool) -> None:
        self.database_up_g.set(1 if up else 0)

    def repair(self, kind: str) -> None:
        self.repairs.labels(kind=kind).inc()

    def log_error(self) -> None:
        self.log_errors.inc()

    def api_auth_failure(self, outcome: str) -> None:
        self.api_auth_failures.labels(outcome=outcome).inc()

    def render(self) -> tuple[bytes, str]:
        """The exposition text and its content type, for ``GET /metrics``."""
        return generate_latest(self.registry), CONTENT_TYPE_LATEST


__all__ = ["LATENCY_BUCKETS", "LlmMetrics", "Metrics", "install_log_counter"]

"""Alert rules: the defaults from the launch plans' incident levels (the operator's YAML
overrides are applied in :mod:`~rampart.observability.alerts.overrides`; a rule itself is
:class:`~rampart.observability.alerts.rule.AlertRule`).

The thresholds the launch plans give come from the settings (``alerts.levels``, and the
rollout's latency and uptime targets), so the in-service engine, the exported Prometheus
rules and GO/NO-GO read one value; docs/operations/incident-levels.md names the plan and
section each comes from.
"""

from __future__ import annotations

from dataclasses import replace

from rampart.domain.stages import LATENCY_TARGET_MS, UPTIME_TARGET
from rampart.observability.alerts.database import StoreDownSignal
from rampart.observability.alerts.growth import GrowthSignal
from rampart.observability.alerts.rule import COMPARISONS, RESPONSE, SEVERITIES, AlertRule, human
from rampart.observability.alerts.rules_agents import agent_rules
from rampart.observability.alerts.rules_anomaly import anomaly_rules
from rampart.observability.alerts.rules_backup import backup_rules
from rampart.observability.alerts.rules_budget import budget_rules
from rampart.observability.alerts.rules_deploy import deploy_rules
from rampart.observability.alerts.rules_market_data import market_data_rules
from rampart.observability.alerts.rules_messaging import messaging_rules
from rampart.observability.alerts.rules_protection import protection_rules
from rampart.observability.alerts.rules_reconcile import reconcile_rules
from rampart.observability.alerts.rules_slo import slo_rules
from rampart.observability.alerts.rules_solana import solana_rules
from rampart.observability.alerts.settings import AlertLevels
from rampart.observability.alerts.signals import (
    AgeSignal,
    FreshCountSignal,
    GaugeSignal,
    IncreaseSignal,
    QuantileSignal,
    RatioSignal,
    duration,
)
from rampart.observability.launch_metrics import CLOCK_JUMPS, DB_ERRORS, MEMORY, UPTIME
from rampart.risk.restrictions import KILL_ON_POSITION_LOSS

ALERT_COMPONENT = "alerts"
"""The supervisor name of the alert engine's own component (left out of AllWorkersDown)."""

HEARTBEAT = "rampart_component_heartbeat_timestamp_seconds"
SUBMISSIONS = "rampart_order_submissions_total"
LATENCY_TARGET_S = LATENCY_TARGET_MS / 1000
"""The default p95 order-latency target: ``rollout.latency_target_ms``, the rollout gate's."""
EXCHANGE_ERRORS = "rampart_exchange_errors_total"
BREAKER_TRIPS = "rampart_breaker_trips_total"
EXCHANGE_CALLS = "rampart_exchange_requests_seconds_count"
REPAIRS = "rampart_reconciliation_repairs_total"


_ACCEPTED = RatioSignal(SUBMISSIONS, SUBMISSIONS, 300, 3, num_match={"outcome": "accepted"})
"""The share of order submissions the venue accepted (OrdersFailing, OrderSuccessLow)."""


def default_rules(
    worker_stale_s: float = 30.0,
    latency_target_s: float = LATENCY_TARGET_S,
    route_share: tuple[str, float] | None = None,
    levels: AlertLevels | None = None,
    uptime_target: float = UPTIME_TARGET,
) -> list[AlertRule]:
    """The incident levels of the launch plans (DESIGN §7), at ``levels`` (``alerts.levels``).

    ``latency_target_s`` is the p95 order-latency target the rollout gate holds stages to
    (``rollout.latency_target_ms``); LatencyDegraded fires past it by
    ``levels.latency_warn_over_target``, LatencyCritical by ``latency_critical_over_target``.
    ``uptime_target``: the rollout gate's (``rollout.uptime_target``). ``route_share``: the
    route bags.fm and the share of filled swaps it should take
    (``solana.route.bags_share_alert``; 0.8 on a Solana venue); without it BagsShareLow is off.

    The rules are tables, one per response time, in the order the exported rules file lists
    them; a threshold the settings set is read from ``levels`` or from the arguments.
    """
    lv = levels or AlertLevels()
    return [
        *_respond_at_once(lv, worker_stale_s),
        *_within_30_minutes_service(lv, worker_stale_s),
        *_within_30_minutes_trading(lv, latency_target_s, uptime_target),
        # RpcDown (P1), then P2: within 4 hours.
        *solana_rules(route_share, lv.swap_confirmation_p95_ms / 1000),
        *_within_4_hours_accounts(),
        *_within_4_hours_service(lv, latency_target_s),
        *_module_rules(lv),
    ]


def _respond_at_once(lv: AlertLevels, worker_stale_s: float) -> tuple[AlertRule, ...]:
    """P0: respond at once."""
    return (
        AlertRule(
            "DatabaseDown",
            "P0",
            "The database is not answering or refuses writes (now, or {min_samples} times in "
            "{window}); no new entries until it takes them again.",
            # Down now, or failing on and off (writes landing between the failures lift the
            # gauge, so it never stays down). 5 s, woken at the first refused write: the page
            # leaves within the launch plans' 10 s of it.
            StoreDownSignal(),
            ">=",
            1,
            5,
        ),
        AlertRule(
            "OrdersFailing",
            "P0",
            "Rampart cannot place orders: {threshold} or less of submissions accepted in {window}.",
            _ACCEPTED,
            "<=",
            0,
            60,
            unit="ratio",
            step=0.01,
        ),
        AlertRule(
            "AllWorkersDown",
            "P0",
            "Every worker has stopped sending heartbeats.",
            FreshCountSignal(HEARTBEAT, worker_stale_s, exclude=(ALERT_COMPONENT,)),
            "<",
            1,
            30,
        ),
        AlertRule(
            "NoWorkerRunning",
            "P0",
            "No worker is running past one machine: no account is traded.",
            GaugeSignal("rampart_fleet_workers_live", agg="max"),
            "<",
            1,
            30,
        ),
        AlertRule(
            "MassBreakerTrips",
            "P0",
            "Circuit breakers halted at least {threshold} accounts in {window} (daily loss or "
            "drawdown): something hits many accounts at once.",
            # Halts only: a losing-streak cooldown pauses one account's entries for a while
            # and is ordinary trading (rampart_breaker_trips_total{breaker="cooldown"}).
            IncreaseSignal("rampart_account_halts_total", 300),
            ">=",
            5,
            0,
        ),
        AlertRule(
            "ErrorRateCritical",
            "P0",
            "More than {threshold} of exchange calls failed in {window}: page the operator.",
            RatioSignal(EXCHANGE_ERRORS, EXCHANGE_CALLS, 300, 20),
            ">",
            lv.error_rate_page,
            60,
            unit="ratio",
            step=0.01,
        ),
        AlertRule(
            "MemoryGrowth",
            "P0",
            "The service's resident memory grew by more than {threshold} in {window}: a leak "
            "runs it out of memory.",
            # Held 15 minutes: the first hour's warm-up (caches, the feed's history) grows
            # memory once and then stops; a leak goes on.
            GrowthSignal(MEMORY, 3600),
            ">",
            lv.memory_growth_per_h,
            900,
            unit="ratio",
            step=0.01,
        ),
        AlertRule(
            "DatabaseErrors",
            "P0",
            "More than {threshold} of database statements failed in {window}.",
            RatioSignal(DB_ERRORS, "rampart_db_query_seconds_count", 300, 1000),
            ">",
            lv.database_error_rate,
            60,
            unit="ratio",
            step=0.001,
        ),
    )


def _within_30_minutes_service(lv: AlertLevels, worker_stale_s: float) -> tuple[AlertRule, ...]:
    """P1, within 30 minutes: the service's own parts (workers, subscribers, the exchange's
    API, the feed, the clock, the queues, the shards)."""
    return (
        AlertRule(
            "WorkerDown",
            "P1",
            "Worker {component} has sent no heartbeat for more than {threshold}.",
            AgeSignal(HEARTBEAT),
            ">",
            worker_stale_s,
            30,
            unit="s",
        ),
        AlertRule(
            "SubscriberFailing",
            "P1",
            "Event subscriber {subscriber} raised on events in the last {window} (at least "
            "{threshold}): it missed them while the engine went on trading.",
            # The bus isolates a failing subscriber (trading/bus.py): this is how anyone
            # hears of it. The store writer or the notices missing events is a P1.
            IncreaseSignal("rampart_event_subscriber_failures_total", 300, by=("subscriber",)),
            ">=",
            1,
            0,
        ),
        AlertRule(
            "ExecutionErrorRate",
            "P1",
            "More than {threshold} of exchange calls failed in {window}.",
            RatioSignal(EXCHANGE_ERRORS, EXCHANGE_CALLS, 300, 100),
            ">",
            lv.error_rate_warn,
            120,
            unit="ratio",
            step=0.005,
        ),
        AlertRule(
            "ExchangeApiErrors",
            "P1",
            "The exchange API failed at least {threshold} times in {window} (each failure is "
            "logged as exchange_error with its order).",
            IncreaseSignal(EXCHANGE_ERRORS, 300),
            ">=",
            5,
            60,
        ),
        AlertRule(
            "FeedDisconnected",
            "P1",
            "No market data for {symbol} for more than {threshold}.",
            GaugeSignal("rampart_feed_staleness_seconds", by=("symbol",)),
            ">",
            60,
            0,
            unit="s",
        ),
        AlertRule(
            "ClockJump",
            "P1",
            "The host's wall clock was stepped back or forward in {window}: Rampart runs on "
            "from its monotonic time; check the time service (NTP) before the clock steps again.",
            # The wall clock counts each step past its tolerance once (rampart.clock.WallClock).
            IncreaseSignal(CLOCK_JUMPS, 600),
            ">=",
            1,
            0,
        ),
        AlertRule(
            "EventLagHigh",
            "P1",
            "More than {threshold} events are waiting to be handled.",
            GaugeSignal("rampart_event_lag"),
            ">",
            1000,
            60,
        ),
        AlertRule(
            "ConsumerLagHigh",
            "P1",
            "A worker is more than {threshold} messages behind the {stream} stream.",
            GaugeSignal("rampart_jetstream_consumer_lag", by=("stream",)),
            ">",
            1000,
            60,
        ),
        AlertRule(
            "ShardsUnheld",
            "P1",
            "Shards are held by no worker (more than {threshold}): their accounts are not traded.",
            GaugeSignal("rampart_fleet_shards_unheld", agg="max"),
            ">",
            0,
            30,
        ),
    )


def _within_30_minutes_trading(
    lv: AlertLevels, latency_target_s: float, uptime_target: float
) -> tuple[AlertRule, ...]:
    """P1, within 30 minutes: orders, the kill switch, the venue's reports, uptime, latency
    and positions' losses."""
    critical_s = latency_target_s * (1 + lv.latency_critical_over_target)
    return (
        AlertRule(
            "OrderSuccessLow",
            "P1",
            "Fewer than {threshold} of order submissions were accepted in {window}.",
            replace(_ACCEPTED, window_s=900, min_samples=20),
            "<",
            0.95,
            300,
            unit="ratio",
            step=0.01,
        ),
        AlertRule(
            "KillSwitchEngaged",
            "P1",
            "The global kill switch is engaged: no new entries anywhere.",
            GaugeSignal("rampart_kill_switch_engaged"),
            ">=",
            1,
            0,
        ),
        AlertRule(
            "VenueReportUnexplained",
            "P1",
            "The venue reported something about order {order} that the books cannot explain; "
            "its account trades close-only until an operator checks it and resumes it.",
            GaugeSignal("rampart_venue_report_unexplained", by=("order",)),
            ">=",
            1,
            0,
        ),
        AlertRule(
            "UptimeLow",
            "P1",
            "The service was up less than {threshold} of the last 24 hours: page the on-call.",
            GaugeSignal(UPTIME, agg="min"),
            "<",
            uptime_target,
            60,
            unit="ratio",
            step=0.001,
        ),
        AlertRule(
            "LatencyCritical",
            "P1",
            "Order latency p95 over {window} is above {threshold}, its "
            f"{human(latency_target_s, 's')} target + {lv.latency_critical_over_target:.0%}: "
            "scale or roll back.",
            QuantileSignal("rampart_order_latency_seconds", 0.95, 300, 20),
            ">",
            critical_s,
            120,
            unit="s",
            step=0.25,
        ),
        AlertRule(
            "PositionLossKill",
            "P1",
            "A position lost more than its kill_on_position_loss amount at least {threshold} "
            "time(s) in {window}: its account was halted and flattened (or, with scope "
            "service or a rollout stage's own amount, the global kill switch engaged).",
            IncreaseSignal(BREAKER_TRIPS, 900, match={"breaker": KILL_ON_POSITION_LOSS}),
            ">=",
            1,
            0,
        ),
    )


def _within_4_hours_accounts() -> tuple[AlertRule, ...]:
    """P2, within 4 hours: the accounts' books and holdings, investors' problems, support."""
    return (
        AlertRule(
            "HoldingsApart",
            "P2",
            "{symbol} coins that Rampart did not buy are on the exchange of at least one account; "
            "they are held apart and never traded by Rampart.",
            GaugeSignal("rampart_holdings_apart_accounts", by=("symbol",)),
            ">=",
            1,
            0,
        ),
        AlertRule(
            "ReconciliationRepairs",
            "P2",
            "Reconciliation repaired the books at least {threshold} times in {window} ({kind}): "
            "the venue keeps showing what the books did not expect.",
            # DESIGN §4: every repair is logged, counted and, past a threshold, alerted. A
            # restart adopting a few orders is normal; ten of one kind in ten minutes is not.
            IncreaseSignal(REPAIRS, 600, by=("kind",)),
            ">=",
            10,
            0,
        ),
        AlertRule(
            "InvestorProblem",
            "P2",
            "Account {account} is stopped from opening positions by {cause}; its Why on the "
            "panel says what it measured and what lifts it.",
            # Per account and cause; a cooldown is not counted (observability/account_problems).
            GaugeSignal("rampart_account_problem", by=("account", "cause")),
            ">=",
            1,
            60,
        ),
        AlertRule(
            "SupportTicketOverdue",
            "P2",
            "At least {threshold} {priority} support ticket is unanswered past its SLA "
            "(people.critical_sla_h or people.general_sla_h on the business clock).",
            # Counted from the store by the people sampler (observability/people_sampler.py).
            GaugeSignal("rampart_support_tickets_overdue", by=("priority",)),
            ">=",
            1,
            0,
        ),
    )


def _within_4_hours_service(lv: AlertLevels, latency_target_s: float) -> tuple[AlertRule, ...]:
    """P2, within 4 hours: latency, errors, the API's tokens, the LLM budget."""
    warn_s = latency_target_s * (1 + lv.latency_warn_over_target)
    return (
        AlertRule(
            "LatencyDegraded",
            "P2",
            "Order latency p95 over {window} is above {threshold}, its "
            f"{human(latency_target_s, 's')} target + {lv.latency_warn_over_target:.0%}.",
            QuantileSignal("rampart_order_latency_seconds", 0.95, 300, 20),
            ">",
            warn_s,
            120,
            unit="s",
            # The rule tests put the p95 on the threshold and one step past it (with as many
            # samples as that takes inside the buckets).
            step=0.1,
        ),
        AlertRule(
            "ErrorRateElevated",
            "P2",
            "More than {threshold} of exchange calls failed in {window}: investigate.",
            RatioSignal(EXCHANGE_ERRORS, EXCHANGE_CALLS, 900, 200),
            ">",
            lv.error_rate_investigate,
            300,
            unit="ratio",
            step=0.005,
        ),
        AlertRule(
            "ErrorSpike",
            "P2",
            "At least {threshold} errors were logged in {window}.",
            IncreaseSignal("rampart_log_errors_total", 300),
            ">=",
            20,
            0,
        ),
        AlertRule(
            "AuthFailureBurst",
            "P2",
            "At least {threshold} API requests carried a token that is not valid in {window}: "
            "a client with a revoked token, or someone guessing.",
            IncreaseSignal("rampart_api_auth_failures_total", 300),
            ">=",
            50,
            0,
        ),
        AlertRule(
            "LlmBudgetExhausted",
            "P2",
            "Today's LLM budget is spent: LLM agents trade their fallback rule agent until "
            "UTC midnight.",
            GaugeSignal("rampart_llm_budget_exhausted"),
            ">=",
            1,
            0,
        ),
    )


def _module_rules(levels: AlertLevels) -> list[AlertRule]:
    # Rule modules of their own; each imports AlertRule from ``rule``.
    return [
        *budget_rules(),
        *market_data_rules(levels),
        *anomaly_rules(),
        *messaging_rules(),
        *reconcile_rules(),
        *protection_rules(),
        *deploy_rules(),
        *slo_rules(),
        *backup_rules(),
        *agent_rules(),
    ]


__all__ = [
    "COMPARISONS",
    "LATENCY_TARGET_S",
    "RESPONSE",
    "SEVERITIES",
    "UPTIME_TARGET",
    "AlertRule",
    "default_rules",
    "duration",
    "human",
]

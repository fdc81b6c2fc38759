"""The Grafana dashboard: orders and success rate, latency, PnL, breakers, feed, workers, kill
switch, database and alerts. Built as data so the export is deterministic and testable (every
expression is checked by ``promtool`` in the tests)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}


@dataclass(frozen=True, slots=True)
class Panel:
    title: str
    exprs: tuple[tuple[str, str], ...]
    """(PromQL, legend) pairs."""
    unit: str = "short"
    kind: str = "timeseries"
    width: int = 12
    description: str = ""


def _q(quantile: float, histogram: str, by: str = "") -> str:
    group = f"le, {by}" if by else "le"
    return f"histogram_quantile({quantile}, sum by ({group}) (rate({histogram}_bucket[5m])))"


PANELS: tuple[Panel, ...] = (
    Panel(
        "Kill switch",
        (("max(rampart_kill_switch_engaged)", "engaged"),),
        kind="stat",
        width=4,
        description="1 while the global kill switch is on.",
    ),
    Panel(
        "Open positions",
        (("sum(rampart_open_positions)", "positions"),),
        kind="stat",
        width=4,
    ),
    Panel(
        "Accounts with problems",
        (
            ("max(rampart_account_problems)", "accounts"),
            ("max(rampart_accounts_cooling_down)", "cooling down"),
        ),
        kind="stat",
        width=4,
        description="Halted or closing only (a breaker, a position-loss kill, an unexplained "
        "venue report) or with a broken invariant: InvestorProblem pages for each. Cooling "
        "down after a losing streak is shown, not paged: it resumes by itself.",
    ),
    Panel(
        "Database up",
        (("min(rampart_database_up)", "up"),),
        kind="stat",
        width=4,
    ),
    Panel(
        "Event lag",
        (("max(rampart_event_lag)", "events waiting"),),
        kind="stat",
        width=4,
    ),
    Panel(
        "Firing alerts",
        (('count(ALERTS{alertstate="firing"}) or vector(0)', "firing"),),
        kind="stat",
        width=4,
    ),
    Panel(
        "Orders by status",
        (("sum by (status) (rate(rampart_orders_total[5m])) * 60", "{{status}}"),),
        unit="short",
        description="Orders entering each status, per minute.",
    ),
    Panel(
        "Order success rate",
        (
            (
                'sum(rate(rampart_order_submissions_total{outcome="accepted"}[15m]))'
                " / sum(rate(rampart_order_submissions_total[15m]))",
                "accepted share",
            ),
        ),
        unit="percentunit",
        description="Share of order submissions the venue accepted (alert below 95 %).",
    ),
    Panel(
        "Order latency",
        (
            (_q(0.5, "rampart_order_latency_seconds", "venue"), "p50 {{venue}}"),
            (_q(0.95, "rampart_order_latency_seconds", "venue"), "p95 {{venue}}"),
            (_q(0.99, "rampart_order_latency_seconds", "venue"), "p99 {{venue}}"),
        ),
        unit="s",
    ),
    Panel(
        "Signal latency",
        (
            (_q(0.5, "rampart_signal_latency_seconds"), "p50"),
            (_q(0.95, "rampart_signal_latency_seconds"), "p95"),
        ),
        unit="s",
        description="From a closed candle to the engine's decisions on it.",
    ),
    Panel(
        "Exchange API latency",
        ((_q(0.95, "rampart_exchange_requests_seconds", "venue"), "p95 {{venue}}"),),
        unit="s",
    ),
    Panel(
        "Exchange API errors",
        (
            (
                "sum by (venue, kind) (rate(rampart_exchange_errors_total[5m])) * 60",
                "{{venue}} {{kind}}",
            ),
        ),
        description="Failed exchange calls per minute, by kind.",
    ),
    Panel(
        "Equity and PnL",
        (
            ("sum(rampart_equity)", "equity"),
            ("sum(rampart_realized_pnl)", "realized PnL"),
        ),
        description="Summed over all accounts, in quote currency.",
    ),
    Panel(
        "Trades",
        (("sum by (outcome) (increase(rampart_trades_total[1h]))", "{{outcome}}"),),
        description="Closed trades per hour by outcome.",
    ),
    Panel(
        "Breaker trips",
        (("sum by (breaker) (increase(rampart_breaker_trips_total[15m]))", "{{breaker}}"),),
    ),
    Panel(
        "Feed staleness",
        (("max by (symbol) (rampart_feed_staleness_seconds)", "{{symbol}}"),),
        unit="s",
        description="Seconds since the last candle (alert past 60 s).",
    ),
    Panel(
        "Worker heartbeat age",
        (
            (
                "time() - max by (component) (rampart_component_heartbeat_timestamp_seconds)",
                "{{component}}",
            ),
        ),
        unit="s",
        description="Seconds since each component last beat (alert past 30 s).",
    ),
    Panel(
        "Workers up",
        (("max by (component) (rampart_component_up)", "{{component}}"),),
    ),
    Panel(
        "Database query time",
        (
            (_q(0.5, "rampart_db_query_seconds"), "p50"),
            (_q(0.99, "rampart_db_query_seconds"), "p99"),
        ),
        unit="s",
    ),
    Panel(
        "Errors and repairs",
        (
            ("sum(rate(rampart_log_errors_total[5m])) * 60", "errors logged per minute"),
            (
                "sum by (outcome) (rate(rampart_api_auth_failures_total[5m])) * 60",
                "API tokens {{outcome}} per minute",
            ),
            (
                "sum by (kind) (increase(rampart_reconciliation_repairs_total[1h]))",
                "repairs {{kind}} per hour",
            ),
        ),
    ),
)


def expressions() -> list[str]:
    return [expr for panel in PANELS for expr, _ in panel.exprs]


def _panel(panel: Panel, index: int, x: int, y: int) -> dict[str, Any]:
    height = 4 if panel.kind == "stat" else 8
    return {
        "id": index + 1,
        "type": panel.kind,
        "title": panel.title,
        "description": panel.description,
        "datasource": DATASOURCE,
        "gridPos": {"x": x, "y": y, "w": panel.width, "h": height},
        "fieldConfig": {"defaults": {"unit": panel.unit}, "overrides": []},
        "options": {},
        "targets": [
            {
                "refId": chr(ord("A") + i),
                "datasource": DATASOURCE,
                "expr": expr,
                "legendFormat": legend,
            }
            for i, (expr, legend) in enumerate(panel.exprs)
        ],
    }


def dashboard() -> dict[str, Any]:
    panels: list[dict[str, Any]] = []
    x = y = row_height = 0
    for index, panel in enumerate(PANELS):
        height = 4 if panel.kind == "stat" else 8
        if x + panel.width > 24:
            x, y = 0, y + row_height
            row_height = 0
        panels.append(_panel(panel, index, x, y))
        x += panel.width
        row_height = max(row_height, height)
    return {
        "uid": "rampart-overview",
        "title": "Rampart",
        "tags": ["rampart"],
        "timezone": "utc",
        "schemaVersion": 39,
        "version": 1,
        "editable": True,
        "refresh": "30s",
        "time": {"from": "now-6h", "to": "now"},
        "templating": {
            "list": [
                {
                    "name": "datasource",
                    "label": "Prometheus",
                    "type": "datasource",
                    "query": "prometheus",
                    "current": {},
                    "hide": 0,
                }
            ]
        },
        "annotations": {"list": []},
        "panels": panels,
    }

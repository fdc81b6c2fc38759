"""The remote soak's verdict against the launch plan's 24-hour testnet criteria: zero critical
failures during continuous operation, 100 % reconciliation accuracy, memory growth under 2 %,
signal latency under 50 ms and order execution under 800 ms on average; with the run's figures,
as JSON and Markdown (the same report files as the simulator soak's)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rampart.clock import ms_to_datetime
from rampart_testkit.soak.config import SoakConfig
from rampart_testkit.soak.figures import (
    latency_figures,
    memory_figures,
    money_figures,
    protection_figures,
    reconciliation_figures,
    verdict_figures,
)
from rampart_testkit.soak.remote import RemoteStats
from rampart_testkit.soak.report import (
    FORBIDDEN_REPAIRS,
    Criterion,
    accuracy_criterion,
    latency_line,
    launch_criteria,
    lost_line,
    memory_criterion,
    order_criterion,
    problem_sections,
    signal_criterion,
    verdict_table,
    write_report,
)

UPTIME_TARGET_PCT = 99.9
"""The feed fresh this share of the run at least: the rollout's uptime gate (DESIGN §6)."""


def span(seconds: float) -> str:
    """A wall-clock duration as a person reads it: 8.0 s, 10.0 min, 24.00 h."""
    if seconds < 120:
        return f"{seconds:.1f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.2f} h"


def uptime_pct(stats: RemoteStats) -> float:
    ran = stats.traded_s
    return (1 - stats.stale_s / ran) * 100 if ran > 0 else 0.0


def api_success_pct(stats: RemoteStats) -> float:
    if not stats.api_calls:
        return 0.0
    return (1 - sum(stats.api_errors.values()) / stats.api_calls) * 100


def growth_pct(stats: RemoteStats) -> float:
    """RSS growth from the baseline to the end, without the harness's own record of the run's
    orders and fills (it grows with the run by design and is not Rampart's)."""
    base = (stats.rss_baseline_mb or stats.rss_start_mb) - stats.ledger_baseline_mb
    end = stats.rss_end_mb - stats.ledger_mb
    return (end - base) / base * 100 if base > 0 else 0.0


def criteria(stats: RemoteStats) -> list[Criterion]:
    forbidden = {k: stats.repairs[k] for k in FORBIDDEN_REPAIRS}
    full = not stats.interrupted and stats.traded_s >= stats.duration_s
    uptime = uptime_pct(stats)
    return [
        *launch_criteria(stats),
        Criterion(
            "Every fill explained by the exchange's trades",
            ", ".join(f"{n} {k}" for k, n in forbidden.items()),
            "0",
            not any(forbidden.values()),
        ),
        Criterion(
            "Continuous operation for the whole run",
            f"{span(stats.traded_s)} of {span(stats.duration_s)} on the wall clock"
            f"{' (stopped early)' if stats.interrupted else ''}; feed fresh {uptime:.2f} %; "
            f"{stats.reconnects} reconnects",
            f"the whole run, feed fresh ≥ {UPTIME_TARGET_PCT} %",
            full and uptime >= UPTIME_TARGET_PCT and not stats.crashes,
        ),
        accuracy_criterion(stats),
        memory_criterion(
            stats,
            growth_pct(stats),
            f", the harness's own record of the run {stats.ledger_mb:.2f} MB left out",
        ),
        signal_criterion(stats, "Signal generation"),
        order_criterion(stats),
    ]


def _when(ms: int) -> str:
    return ms_to_datetime(ms).strftime("%Y-%m-%d %H:%M:%S UTC") if ms else "-"


def build(config: SoakConfig, stats: RemoteStats) -> dict[str, Any]:
    checks = criteria(stats)
    errors = sum(stats.api_errors.values())
    return {
        "config": {
            "mode": "remote",
            "duration_s": config.duration_s,
            "accounts": config.accounts,
            "symbols": list(config.symbols),
            "timeframe": config.timeframe,
            "reconcile_every_s": config.reconcile_every_s,
        },
        "exchange": {
            "id": stats.exchange,
            "host": stats.host,
            "testnet": stats.sandbox,
            "accounts": stats.accounts,
            "started": _when(stats.started_ms),
            "ended": _when(stats.ended_ms),
        },
        "run": {
            "wall_s": round(stats.wall_s, 2),
            "traded_s": round(stats.traded_s, 2),
            "interrupted": stats.interrupted,
            "candles": stats.candles,
            "feed_stale_s": round(stats.stale_s, 1),
            "feed_fresh_pct": round(uptime_pct(stats), 3),
            "reconnects": stats.reconnects,
        },
        "api": {
            "calls": stats.api_calls,
            "errors": errors,
            "errors_by_kind": dict(stats.api_errors),
            "success_pct": round(api_success_pct(stats), 3),
        },
        **money_figures(stats),
        "reconciliation": reconciliation_figures(stats, stats.repairs_stored),
        "protection": protection_figures(stats.protection),
        "latency": latency_figures(stats),
        "memory": memory_figures(
            stats,
            harness_record_baseline_mb=round(stats.ledger_baseline_mb, 3),
            harness_record_end_mb=round(stats.ledger_mb, 3),
            rampart_growth_pct=round(growth_pct(stats), 3),
        ),
        **verdict_figures(stats, checks),
    }


def markdown(report: dict[str, Any]) -> str:
    ex, run, cfg, api = report["exchange"], report["run"], report["config"], report["api"]
    rec, lat, mem = report["reconciliation"], report["latency"], report["memory"]
    where = "testnet" if ex["testnet"] else "the configured URL"
    lines = [
        "# Rampart remote soak report",
        "",
        f"{len(ex['accounts'])} accounts ({', '.join(sorted(set(ex['accounts'].values())))}) on "
        f"{ex['id']} {where} ({ex['host']}), {', '.join(cfg['symbols'])} at {cfg['timeframe']} "
        f"candles, from {ex['started']} to {ex['ended']}: {span(run['traded_s'])} of "
        f"trading on the wall clock{' (stopped early)' if run['interrupted'] else ''}. No "
        "fault was injected and the exchange was not controlled: every figure below is what "
        "the exchange answered.",
        "",
        "## Verdict (the launch plan's 24-hour testnet criteria)",
        "",
        *verdict_table(report),
        f"- Orders: {report['orders']} placed by the engine, {report['orders_on_exchange']} of "
        f"the run's on the exchange; fills: {report['fills']} booked, "
        f"{report['fills_on_exchange']} trades of the run's orders on the exchange.",
        lost_line(report),
        f"- Reconciliation: accuracy {rec['accuracy_pct']} % over {rec['checks']} exact checks of "
        f"the books against the exchange ({rec['checks_deferred_unsettled']} deferred while an "
        f"order was unconfirmed); runs {rec['runs']}; repairs {rec['repairs'] or 'none'}.",
        f"- Exchange API: {api['calls']} calls, {api['errors']} failed "
        f"({api['errors_by_kind'] or 'none'}): {api['success_pct']} % answered; "
        f"{run['reconnects']} reconnects; the feed was stale {run['feed_stale_s']} s.",
        f"- Order round trip (ms): {latency_line(lat['order_round_trip'])}.",
        f"- Signal generation (ms): {latency_line(lat['signal'])}.",
        f"- RSS: {mem['rss_start_mb']} MB at start, {mem['rss_baseline_mb']} MB at the "
        f"baseline, {mem['rss_end_mb']} MB at the end; Rampart's own growth "
        f"{mem['rampart_growth_pct']:+.2f} % (the harness's record of the run, "
        f"{mem['harness_record_end_mb']} MB, left out).",
        f"- Protection: {report['protection']}.",
    ]
    lines += problem_sections(report, "Differences found")
    if report["lost"]["details"]:
        lines += ["", "## Lost orders", "", *[f"- {d}" for d in report["lost"]["details"]]]
    lines += [
        "",
        "Signal generation: an agent's indicator update and its decision on a candle (the "
        "venue calls the engine makes in between cross the network and are the orders' time). "
        "Order round trip: from sending an order (or a bracket pair) to the exchange's answer, "
        "retries included. A check compares every account's balances and open orders on the "
        "exchange with the books after a reconciliation, when no order is unconfirmed.",
        "",
    ]
    return "\n".join(lines)


def write(out_dir: Path, report: dict[str, Any]) -> tuple[Path, Path]:
    return write_report(out_dir, "soak-report", report, markdown(report))


__all__ = ["build", "criteria", "markdown", "span", "write"]

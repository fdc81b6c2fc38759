"""The wall-clock run's verdict: the launch plans' criteria for a 24-hour continuous run (zero
critical failures, 100 % reconciliation, memory growth under 2 %, signal and order latency),
the remote soak's checks of the books against the exchange, and what every fault on the
schedule had to leave behind; as JSON and Markdown."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rampart_testkit.soak import dirty, memsites
from rampart_testkit.soak import remote_report as remote
from rampart_testkit.soak.chaos import DB_FLAP, DB_OUTAGE
from rampart_testkit.soak.config import SoakConfig
from rampart_testkit.soak.figures import (
    verdict_figures,
)
from rampart_testkit.soak.report import (
    Criterion,
    latency_line,
    lost_line,
    network_criteria,
    outage_criterion,
    problem_sections,
    verdict_table,
    write_report,
)
from rampart_testkit.soak.wall import WallStats

PLAN = (
    "the launch plans' 24-hour run (seeds 003: zero critical failures during 24 h of operation, "
    "100 % reconciliation accuracy after network interruptions, < 2 % memory growth, signal "
    "generation < 50 ms, order execution < 800 ms on average; seeds 000: 24 hours with no "
    "critical issue)"
)


def schedule_criterion(faults: tuple[str, ...], stats: WallStats) -> Criterion:
    """Every kind on the schedule met at least once: a run that never injected one says
    nothing about it."""
    missing = [k for k in faults if not stats.episodes.get(k)]
    met = ", ".join(f"{k} ×{stats.episodes[k]}" for k in faults if stats.episodes.get(k))
    return Criterion(
        "Every fault on the schedule injected",
        f"{met or 'none'}" + (f"; never: {', '.join(missing)}" if missing else ""),
        f"each of {len(faults)} kinds at least once",
        bool(faults) and not missing,
    )


def criteria(faults: tuple[str, ...], stats: WallStats) -> list[Criterion]:
    out = remote.criteria(stats)
    out += network_criteria(faults, stats)
    if DB_OUTAGE in faults or DB_FLAP in faults:
        out.append(outage_criterion(stats.fault_checks))
    out += [Criterion(*c) for c in dirty.criteria(faults, stats.dirty)]
    out.append(schedule_criterion(faults, stats))
    return out


def build(config: SoakConfig, stats: WallStats) -> dict[str, Any]:
    report = remote.build(config, stats)
    checks = criteria(config.faults, stats)
    report["config"].update(mode="wall", faults=list(config.faults), seed=config.seed)
    report["faults"] = {
        "episodes": dict(stats.episodes),
        "fired_in_simulator": dict(stats.faults_fired),
        "restarts": stats.restarts,
        **stats.wall.to_dict(),
    }
    report["harness_faults"] = {"db_outage": stats.fault_checks.to_dict()["db_outage"]}
    report["dirty"] = stats.dirty.to_dict()
    report["reconciliation"]["mismatch_during_faults"] = stats.reconcile_mismatch_under_faults
    report["memory"]["sites"] = stats.memory_sites
    report.update(verdict_figures(stats, checks))
    return report


def markdown(report: dict[str, Any]) -> str:
    ex, run, cfg, api = report["exchange"], report["run"], report["config"], report["api"]
    rec, lat, mem, f = (
        report["reconciliation"],
        report["latency"],
        report["memory"],
        report["faults"],
    )
    down = report["harness_faults"]["db_outage"]
    lines = [
        "# Rampart wall-clock run",
        "",
        f"{len(ex['accounts'])} accounts on `rampart simulator` run as a process of its own "
        f"({ex['host']}), {', '.join(cfg['symbols'])} at {cfg['timeframe']} candles, from "
        f"{ex['started']} to {ex['ended']}: {remote.span(run['traded_s'])} of trading on the "
        f"wall clock{' (stopped early)' if run['interrupted'] else ''}, through the real ccxt "
        "client over HTTP and websocket (candles, and the accounts' orders and fills). Faults "
        f"on a schedule (seed {cfg['seed']}): {', '.join(cfg['faults']) or 'none'}.",
        "",
        f"## Verdict against {PLAN}",
        "",
        *verdict_table(report),
        f"- Orders: {report['orders']} placed by the engine, {report['orders_on_exchange']} of "
        f"the run's on the exchange; fills: {report['fills']} booked, "
        f"{report['fills_on_exchange']} trades of the run's orders on the exchange.",
        lost_line(report),
        f"- Reconciliation: accuracy {rec['accuracy_pct']} % over {rec['checks']} exact checks of "
        f"the books against the exchange in quiet spells ({rec['checks_deferred_unsettled']} "
        f"deferred while an order was unconfirmed); runs {rec['runs']}; repairs "
        f"{rec['repairs'] or 'none'}.",
        f"- Faults: episodes {f['episodes'] or 'none'}; fired in the simulator "
        f"{f['fired_in_simulator'] or 'none'}; {f['restarts']} restarts from a checkpoint; "
        f"{f['websockets_dropped']} websockets dropped; candle feed {f['feed_websocket_states']}; "
        f"order streams {f['order_stream_states']}.",
        f"- Database outages: {down['outages']} ({down['writes_refused']} writes refused, "
        f"{down['entries_refused']} entries refused, {down['entries_sent_while_down']} sent "
        f"while down).",
        *dirty.markdown_line(report),
        f"- Exchange API: {api['calls']} calls, {api['errors']} failed "
        f"({api['errors_by_kind'] or 'none'}); {run['reconnects']} reconnects; the feed was "
        f"stale {run['feed_stale_s']} s.",
        f"- Order round trip (ms): {latency_line(lat['order_round_trip'])}.",
        f"- Signal generation (ms): {latency_line(lat['signal'])}.",
        f"- RSS: {mem['rss_start_mb']} MB at start, {mem['rss_baseline_mb']} MB at the "
        f"baseline (a quarter of the run), {mem['rss_end_mb']} MB at the end; Rampart's own "
        f"growth {mem['rampart_growth_pct']:+.2f} % (the harness's record of the run, "
        f"{mem['harness_record_end_mb']} MB, left out); the simulator process "
        f"{f['simulator_rss_start_mb']} → {f['simulator_rss_end_mb']} MB (not Rampart's).",
        f"- Protection: {report['protection']}; {f['protection_reads_failed']} reads failed.",
        *(
            ["- Growth by allocation line, baseline to end (tracemalloc on):"]
            + [f"  - `{line}`" for line in memsites.lines(sites)]
            if (sites := mem.get("sites"))
            else []
        ),
    ]
    if f["admin_errors"]:
        lines.append(f"- Harness: the simulator's admin API failed: {f['admin_errors']}.")
    lines += problem_sections(report, "Differences found")
    if report["lost"]["details"]:
        lines += ["", "## Lost orders", "", *[f"- {d}" for d in report["lost"]["details"]]]
    lines += [
        "",
        "Signal generation: an agent's indicator update and decision on a candle. Order round "
        "trip: from sending an order (or a bracket pair) to the exchange's answer, retries "
        "included. A check compares every account's balances and open orders on the exchange "
        "with the books after a reconciliation, when no fault has been on for a few seconds and "
        "no order is unconfirmed.",
        "",
    ]
    return "\n".join(lines)


def write(out_dir: Path, report: dict[str, Any]) -> tuple[Path, Path]:
    return write_report(out_dir, "wall-report", report, markdown(report))


__all__ = ["build", "criteria", "markdown", "schedule_criterion", "write"]

"""The soak's verdict: figures, one pass/fail line per launch criterion, JSON and Markdown."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rampart_testkit.soak import dirty, memsites
from rampart_testkit.soak.chaos import DB_FLAP, DB_OUTAGE, HAND_CLOSE, RECONCILE_RACE
from rampart_testkit.soak.config import SoakConfig
from rampart_testkit.soak.figures import (
    accuracy_pct,
    latency_figures,
    memory_figures,
    money_figures,
    protection_figures,
    reconciliation_figures,
    run_figures,
    verdict_figures,
)
from rampart_testkit.soak.memory_pct import memory_growth_pct, rampart_growth_pct
from rampart_testkit.soak.stats import SoakStats

SIGNAL_TARGET_MS = 50.0
ORDER_TARGET_MS = 800.0
MEMORY_TARGET_PCT = 2.0
NETWORK = ("drop", "error", "rate_limit", "lost_response", "skew", "flap", "restart")
BAD_ANSWERS = ("latency", "malformed", "truncated")
FORBIDDEN_REPAIRS = ("position_adjusted", "report_unexplained")
"""Repairs no soak may need: a quantity no exchange trade explains, booked at a guessed price,
or a venue report the books could not take (the account went close-only)."""


@dataclass(frozen=True)
class Criterion:
    name: str
    value: str
    target: str
    passed: bool

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "value": self.value, "target": self.target, "pass": self.passed}


def critical_failures(stats: SoakStats, unprotected: int, lost: int, duplicated: int) -> Criterion:
    """Crashes, invariant violations, unprotected position checks, lost and duplicated
    orders or fills (as the soak counts them), together: the criterion every soak must meet
    first."""
    critical = len(stats.crashes) + stats.violations + unprotected + lost + duplicated
    return Criterion(
        "Zero critical failures",
        f"{len(stats.crashes)} crashes, {stats.violations} invariant violations, "
        f"{unprotected} unprotected, {lost} lost, {duplicated} duplicated",
        "0",
        critical == 0,
    )


def accuracy_criterion(stats: SoakStats) -> Criterion:
    return Criterion(
        "100 % reconciliation accuracy",
        f"{accuracy_pct(stats):.1f} % ({stats.checks_passed} of {stats.checks} checks)",
        "100 %",
        stats.checks > 0 and stats.checks_passed == stats.checks,
    )


def memory_criterion(
    stats: Any, growth: float, more: str = "", rss: tuple[float, float] | None = None
) -> Criterion:
    """Growth (in %) against the target, with the RSS it comes from (``rss``: baseline and
    end in MB, this process's by default) and ``more``."""
    base, end = rss or (stats.rss_baseline_mb, stats.rss_end_mb)
    return Criterion(
        f"Memory growth < {MEMORY_TARGET_PCT:g} %",
        f"{growth:+.2f} % ({base:.1f} → {end:.1f} MB RSS{more})",
        f"< {MEMORY_TARGET_PCT:g} %",
        growth < MEMORY_TARGET_PCT,
    )


def _fired(stats: SoakStats, kinds: tuple[str, ...]) -> str:
    fired = Counter(stats.faults_fired)
    if stats.restarts:
        fired["restart"] = stats.restarts
    parts = [f"{k} ×{fired[k]}" for k in kinds if fired.get(k)]
    return ", ".join(parts) or "none fired"


def launch_criteria(stats: Any, protection: str | None = None) -> list[Criterion]:
    """The four criteria every soak on an exchange reports first: no critical failure, none
    lost, none duplicated, every position protected (``protection``: the measured value, when
    a soak says more than the position checks)."""
    acc, prot = stats.accounting, stats.protection
    return [
        critical_failures(stats, prot.unprotected, acc.lost, acc.duplicated),
        Criterion("No lost orders or fills", str(acc.lost), "0", acc.lost == 0),
        Criterion("No duplicated orders or fills", str(acc.duplicated), "0", acc.duplicated == 0),
        Criterion(
            "Every position protected by a stop-loss",
            protection or f"{prot.unprotected} of {prot.checks} position checks unprotected",
            "0",
            prot.unprotected == 0 and stats.violations == 0,
        ),
    ]


def signal_criterion(stats: Any, name: str = "Signal latency") -> Criterion:
    signal = stats.signal_latency
    return Criterion(
        f"{name} < {SIGNAL_TARGET_MS:g} ms",
        f"mean {signal.mean * 1000:.2f} ms, p95 {signal.percentile(95) * 1000:.2f} ms",
        f"< {SIGNAL_TARGET_MS:g} ms",
        signal.n > 0 and signal.mean * 1000 < SIGNAL_TARGET_MS,
    )


def order_criterion(stats: Any) -> Criterion:
    """The launch plan's order execution target, on the mean (the percentiles shown)."""
    order = stats.order_latency
    return Criterion(
        f"Order execution < {ORDER_TARGET_MS:g} ms on average",
        f"mean {order.mean * 1000:.1f} ms, p50 {order.percentile(50) * 1000:.1f} ms, p95 "
        f"{order.percentile(95) * 1000:.1f} ms, p99 {order.percentile(99) * 1000:.1f} ms "
        f"({order.n} orders)",
        f"< {ORDER_TARGET_MS:g} ms",
        order.n > 0 and order.mean * 1000 < ORDER_TARGET_MS,
    )


def network_criteria(faults: tuple[str, ...], stats: SoakStats) -> list[Criterion]:
    """The network's faults survived and the exchange's bad answers handled (timeouts,
    malformed and truncated bodies): no crash, and no order left unresolved."""
    acc = stats.accounting
    network = tuple(k for k in NETWORK if k in faults)
    bad = tuple(k for k in BAD_ANSWERS if k in faults)
    return [
        Criterion(
            "Network disconnects and rate limits survived",
            f"{_fired(stats, network)}; {stats.reconnects} reconnects"
            if network
            else "not injected",
            "no crash",
            not stats.crashes
            and (not network or sum(stats.faults_fired.values()) + stats.restarts > 0),
        ),
        Criterion(
            "Timeouts and malformed responses handled",
            f"{_fired(stats, bad)}; {acc.unresolved_orders} unresolved" if bad else "not injected",
            "no crash, 0 unresolved",
            not stats.crashes and acc.unresolved_orders == 0,
        ),
    ]


def outage_criterion(fc: Any) -> Criterion:
    """After the store was down or flapping: no entry sent while it was, every event stored."""
    return Criterion(
        "Database outages: nothing lost, no entry sent",
        f"{fc.outages} outages, {fc.refused_writes} writes refused, "
        f"{fc.entries_refused} entries refused, {fc.entries_while_down} sent while "
        f"down; {fc.store_checks_passed} of {fc.store_checks} store checks equal",
        "0 sent, every event stored",
        not fc.store_failures and fc.store_checks_passed == fc.store_checks,
    )


def criteria(config: SoakConfig, stats: SoakStats) -> list[Criterion]:
    out = launch_criteria(stats)
    if stats.interrupted:
        ran = f"{stats.steps} of {stats.total_steps} candles (stopped early)"
        out.insert(0, Criterion("Ran its full length", ran, "all", False))
    out.extend(network_criteria(config.faults, stats))
    out.extend(_fault_criteria(config, stats))
    out.extend(Criterion(*c) for c in dirty.criteria(config.faults, stats.dirty))
    out.append(accuracy_criterion(stats))
    sim = stats.sim_end_mb - stats.sim_baseline_mb
    harness = stats.harness_end_mb - stats.harness_baseline_mb
    out.append(
        memory_criterion(
            stats,
            rampart_growth_pct(stats),
            f", {memory_growth_pct(stats):+.2f} % with the simulator's {sim:+.1f} MB of data "
            f"and the soak's record's {harness:+.1f} MB",
        )
    )
    out.extend([signal_criterion(stats), order_criterion(stats)])
    return out


def _fault_criteria(config: SoakConfig, stats: SoakStats) -> list[Criterion]:
    """Every fill explained, and one line per harness fault: what it must leave behind."""
    fc = stats.fault_checks
    forbidden = {k: stats.repairs[k] for k in FORBIDDEN_REPAIRS}
    out = [
        Criterion(
            "Every fill explained by the exchange's trades",
            ", ".join(f"{n} {k}" for k, n in forbidden.items()),
            "0",
            not any(forbidden.values()),
        )
    ]
    if RECONCILE_RACE in config.faults:
        out.append(
            Criterion(
                "Fills racing a reconciliation booked as fills",
                f"{fc.race_fills} protective fills inside a balance read in {fc.race_runs} "
                f"reconciliations; {len(fc.race_failures)} repaired as something else",
                "0 repaired",
                not fc.race_failures,
            )
        )
    if HAND_CLOSE in config.faults:
        out.append(
            Criterion(
                "Positions sold by hand closed as external trades",
                f"{fc.hand_external_trades} external trades for {fc.hand_closes} hand closes; "
                f"{fc.hand_held_apart} of {fc.hand_buys} hand buys held apart",
                "one per hand close",
                not fc.hand_failures and fc.hand_external_trades == fc.hand_closes,
            )
        )
    if DB_OUTAGE in config.faults or DB_FLAP in config.faults:
        out.append(outage_criterion(fc))
    return out


def build(config: SoakConfig, stats: SoakStats) -> dict[str, Any]:
    checks = criteria(config, stats)
    return {
        "config": {
            "duration_s": config.duration_s,
            "speed": config.speed,
            "faults": list(config.faults),
            "accounts": config.accounts,
            "symbols": list(config.symbols),
            "seed": config.seed,
            "reconcile_every_s": config.reconcile_every_s,
        },
        "run": run_figures(stats) | {"interrupted": stats.interrupted},
        **money_figures(stats),
        "reconciliation": reconciliation_figures(stats, stats.repairs_stored),
        "protection": protection_figures(stats.protection),
        "latency": latency_figures(stats),
        "memory": memory_figures(
            stats,
            simulator_data_baseline_mb=round(stats.sim_baseline_mb, 2),
            simulator_data_end_mb=round(stats.sim_end_mb, 2),
            harness_record_baseline_mb=round(stats.harness_baseline_mb, 2),
            harness_record_end_mb=round(stats.harness_end_mb, 2),
            rampart_growth_pct=round(rampart_growth_pct(stats), 3),
        )
        | {"sites": stats.memory_sites},
        "errors_by_kind": dict(stats.errors),
        "faults_fired": dict(stats.faults_fired),
        "fault_episodes": dict(stats.episodes),
        "harness_faults": stats.fault_checks.to_dict(),
        "dirty": stats.dirty.to_dict(),
        **verdict_figures(stats, checks),
    }


def verdict_table(report: dict[str, Any]) -> list[str]:
    """Markdown lines: one row per criterion, the overall verdict, the figures' heading."""
    lines = ["| criterion | measured | target | result |", "|---|---|---|---|"]
    for c in report["criteria"]:
        mark = "PASS" if c["pass"] else "**FAIL**"
        lines.append(f"| {c['name']} | {c['value']} | {c['target']} | {mark} |")
    return [
        *lines,
        "",
        f"Overall: {'PASS' if report['passed'] else '**FAIL**'}",
        "",
        "## Figures",
        "",
    ]


def markdown(report: dict[str, Any]) -> str:
    run, cfg = report["run"], report["config"]
    rec, lat, mem = report["reconciliation"], report["latency"], report["memory"]
    lines = [
        "# Rampart soak report",
        "",
        f"{cfg['accounts']} accounts on {', '.join(cfg['symbols'])}, "
        f"{run['simulated_s'] / 3600:.1f} h of simulated time in {run['wall_s']:.0f} s of wall "
        f"time{' (stopped early)' if run.get('interrupted') else ''} (×{run['speedup']}, bound "
        f"×{cfg['speed']:g}); faults: "
        f"{', '.join(cfg['faults']) or 'none'}; {run['restarts']} restarts from a checkpoint; "
        f"seed {cfg['seed']}.",
        "",
        "## Verdict",
        "",
        *verdict_table(report),
        f"- Orders: {report['orders']} placed by the engine, {report['orders_on_exchange']} on "
        f"the exchange; fills: {report['fills']} booked, {report['fills_on_exchange']} on the "
        "exchange.",
        lost_line(report),
        f"- Reconciliation: accuracy {rec['accuracy_pct']} % over {rec['checks']} exact checks "
        f"against the exchange ({rec['checks_deferred_unsettled']} deferred while an order was "
        f"unconfirmed); runs {rec['runs']}; repairs {rec['repairs'] or 'none'} "
        f"({rec['repairs_stored']} stored).",
        f"- Order round trip (ms): {latency_line(lat['order_round_trip'])}.",
        f"- Signal latency (ms): {latency_line(lat['signal'])}.",
        f"- RSS: {mem['rss_start_mb']} MB at start, {mem['rss_baseline_mb']} MB after warm-up, "
        f"{mem['rss_end_mb']} MB at the end ({mem['growth_pct']:+.2f} %); the in-process "
        f"simulator's data went from {mem['simulator_data_baseline_mb']} to "
        f"{mem['simulator_data_end_mb']} MB and the soak's own record of the run from "
        f"{mem['harness_record_baseline_mb']} to {mem['harness_record_end_mb']} MB, so "
        f"Rampart's own growth is {mem['rampart_growth_pct']:+.2f} %.",
        *(
            [
                "- Growth by allocation line, baseline to end (tracemalloc on: it slows the run "
                "and adds to its memory):",
                *(f"  - `{line}`" for line in memsites.lines(sites)),
            ]
            if (sites := mem.get("sites"))
            else []
        ),
        f"- Errors by kind: {report['errors_by_kind'] or 'none'}.",
        f"- Faults fired: {report['faults_fired'] or 'none'} in {report['fault_episodes']} "
        "episodes.",
        f"- Protection: {report['protection']}.",
        f"- Harness faults: {_harness(report['harness_faults'])}.",
        *dirty.markdown_line(report),
    ]
    lines += problem_sections(report)
    harness = report["harness_faults"]
    failed = [f for part in harness.values() if isinstance(part, dict) for f in part["failures"]]
    if failed:
        lines += ["", "## Harness fault failures", "", *[f"- {f}" for f in failed]]
    lines += [
        "",
        "Signal latency: from a candle reaching the agents to each decision on it. Order round "
        "trip: from sending an order (or a bracket pair) to the exchange's answer, retries "
        "included.",
        "",
    ]
    return "\n".join(lines)


def _harness(h: dict[str, Any]) -> str:
    race, hand, down = h["reconcile_race"], h["hand_close"], h["db_outage"]
    return (
        f"reconcile race: {race['fills_inside_balance_read']} protective fills inside a "
        f"balance read over {race['runs']} reconciliations ({race['missed']} missed, "
        f"{race['extra_candles']} extra candles); hand close: {hand['closes']} closes, "
        f"{hand['external_trades']} external trades, {hand['held_apart']} of {hand['buys']} "
        f"hand buys held apart (their {hand['buy_trades']} exchange trades are not Rampart's "
        f"fills); database outage: {down['outages']} outages, "
        f"{down['candles_store_down']} candles with entries halted, {down['writes_refused']} "
        f"writes refused, {down['entries_refused']} entries refused, "
        f"{down['entries_sent_while_down']} sent while down, {down['store_checks_passed']} of "
        f"{down['store_checks']} store checks equal"
    )


def lost_line(report: dict[str, Any]) -> str:
    lost = report["lost"]
    return (
        f"- Lost: {lost['total']} (orders {lost['orders']}, fills {lost['fills']}, unresolved "
        f"{lost['unresolved']}); duplicated: {report['duplicated']['total']}."
    )


def problem_sections(
    report: dict[str, Any], differences: str = "Reconciliation differences"
) -> list[str]:
    """Markdown sections for the crashes and the differences found, when there are any."""
    lines: list[str] = []
    if report["crashes"]:
        lines += ["", "## Crashes", "", *[f"- {c}" for c in report["crashes"]]]
    failures = report["reconciliation"]["failures"]
    if failures:
        lines += ["", f"## {differences}", "", *[f"- {f}" for f in failures]]
    return lines


def latency_line(s: dict[str, Any]) -> str:
    return (
        f"n={s['count']}, mean {s['mean_ms']}, p50 {s['p50_ms']}, p95 {s['p95_ms']}, "
        f"p99 {s['p99_ms']}, max {s['max_ms']}"
    )


def write_report(out_dir: Path, stem: str, report: dict[str, Any], text: str) -> tuple[Path, Path]:
    """``report`` as ``stem``.json and its Markdown ``text`` as ``stem``.md in ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path = out_dir / f"{stem}.json"
    md_path = out_dir / f"{stem}.md"
    json_path.write_text(json.dumps(report, indent=2, default=str) + "\n", encoding="utf-8")
    md_path.write_text(text, encoding="utf-8")
    return json_path, md_path


def write(out_dir: Path, report: dict[str, Any]) -> tuple[Path, Path]:
    return write_report(out_dir, "soak-report", report, markdown(report))

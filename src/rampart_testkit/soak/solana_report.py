"""The Solana soak's verdict: the launch criteria (as the ccxt soak's), counts per fault kind,
JSON and Markdown."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rampart_testkit.soak import dirty
from rampart_testkit.soak.config import SoakConfig
from rampart_testkit.soak.figures import (
    memory_figures,
    reconciliation_figures,
    run_figures,
    verdict_figures,
)
from rampart_testkit.soak.report import (
    Criterion,
    accuracy_criterion,
    critical_failures,
    memory_criterion,
    memory_growth_pct,
    verdict_table,
    write_report,
)
from rampart_testkit.soak.solana_build import SYMBOLS
from rampart_testkit.soak.solana_faults import RESTART, TRANSFER
from rampart_testkit.soak.solana_stats import SolanaStats

ALLOWED_ADJUSTMENTS = ("position_adjusted", "balance_adjusted")
"""Tokens moved out by hand leave no trade: each transfer is booked as an external exit at an
assumed price (``position_adjusted``), and as no cash came in for it the cash the books
assumed is taken back (``balance_adjusted``); any other such repair means a swap was missed."""


def criteria(config: SoakConfig, stats: SolanaStats) -> list[Criterion]:
    acc, mon = stats.swaps, stats.monitor
    fired = dict(stats.faults_fired)
    out = [
        critical_failures(stats, mon.unprotected, acc.lost, acc.duplicated),
        Criterion(
            "No lost fills",
            f"{acc.lost} ({acc.lost_fills} clean swaps not booked, {acc.unresolved_orders} "
            f"swaps unresolved) of {acc.swaps_landed} clean swaps",
            "0",
            acc.lost == 0,
        ),
        Criterion(
            "No duplicated orders or fills",
            f"{acc.duplicated} ({acc.duplicated_fills} booked twice, {acc.duplicated_orders} "
            f"client ids with two clean swaps, {acc.phantom_fills} booked without a clean swap)",
            "0",
            acc.duplicated == 0,
        ),
        Criterion(
            "Every position protected (monitor holds stop-loss and take-profit)",
            f"{mon.unprotected} of {mon.checks} position checks unprotected; "
            f"{mon.crossed} level crossings, each with an exit",
            "0",
            mon.unprotected == 0 and stats.violations == 0 and mon.checks > 0,
        ),
        Criterion(
            "Stand-in faults survived",
            ", ".join(f"{k} ×{n}" for k, n in sorted(fired.items()) if n) or "none fired",
            "no crash",
            not stats.crashes and (not config.faults or sum(fired.values()) > 0),
        ),
    ]
    if "down" in config.faults:
        out.append(
            Criterion(
                "Primary RPC node down: fail-over to b and back",
                f"{stats.node_outages} outages, {stats.failed_over} fail-overs, "
                f"{stats.failed_back} fail-backs; {len(stats.failover_failures)} failures",
                "each outage",
                not stats.failover_failures and stats.failed_back >= stats.node_outages,
            )
        )
    if RESTART in config.faults:
        out.append(
            Criterion(
                "Crash after a send: restart from the checkpoint",
                f"{stats.restarts} restarts ({stats.crashes_after_send} right after a swap "
                "was sent)",
                "0 lost, 0 duplicated",
                acc.lost == 0 and acc.duplicated == 0,
            )
        )
    adjusted = {k: stats.repairs.get(k, 0) for k in ALLOWED_ADJUSTMENTS}
    if TRANSFER in config.faults:
        out.append(
            Criterion(
                "Tokens moved out by hand closed as external",
                f"{stats.transfers_external} external closes for {stats.transfers} transfers; "
                f"{len(stats.transfer_failures)} failures",
                "one per transfer",
                not stats.transfer_failures and stats.transfers_external == stats.transfers,
            )
        )
    out.append(
        Criterion(
            "Every fill explained by a swap on chain",
            f"{adjusted['position_adjusted']} positions and {adjusted['balance_adjusted']} "
            f"balances adjusted for {stats.transfers} transfers, "
            f"{stats.repairs.get('report_unexplained', 0)} reports unexplained",
            "at most one of each per transfer",
            max(adjusted.values()) <= stats.transfers
            and not stats.repairs.get("report_unexplained"),
        )
    )
    out.append(accuracy_criterion(stats))
    out.append(memory_criterion(stats, memory_growth_pct(stats)))
    out.extend(
        Criterion(*c)
        for c in dirty.criteria(config.faults, stats.dirty, "prices", "spoiled quote answers")
    )
    return out


def build(config: SoakConfig, stats: SolanaStats) -> dict[str, Any]:
    checks = criteria(config, stats)
    acc, mon = stats.swaps, stats.monitor
    return {
        "config": {
            "venue": "solana",
            "duration_s": config.duration_s,
            "speed": config.speed,
            "faults": list(config.faults),
            "accounts": config.accounts,
            "symbols": list(SYMBOLS),
            "seed": config.seed,
            "slot_ms": config.slot_ms,
            "reconcile_every_s": config.reconcile_every_s,
        },
        "run": run_figures(stats, slots=stats.slots),
        "orders": stats.orders,
        "fills": stats.fills,
        "swaps": {
            "client_orders": acc.clients,
            "landed_clean": acc.swaps_landed,
            "landed_failed": acc.swaps_failed,
            "never_landed": acc.swaps_never_landed,
            "outcomes": stats.swap_outcomes,
            "details": acc.details,
        },
        "lost": {"total": acc.lost, "fills": acc.lost_fills, "unresolved": acc.unresolved_orders},
        "duplicated": {
            "total": acc.duplicated,
            "fills": acc.duplicated_fills,
            "orders": acc.duplicated_orders,
            "phantom": acc.phantom_fills,
        },
        "reconciliation": reconciliation_figures(stats, None),
        "protection": {
            "position_checks": mon.checks,
            "held_pair": mon.held_pair,
            "swap_in_flight": mon.exiting,
            "monitor_only": mon.pending,
            "dust": mon.dust,
            "level_crossings": mon.crossed,
            "unprotected": mon.unprotected,
            "samples": mon.samples,
        },
        "latency": {
            "order_round_trip": stats.order_latency.summary_ms(),
            "confirmation": stats.confirm_latency.summary_ms(),
            "signal": stats.signal_latency.summary_ms(),
            # On the chain's own time: slots from first send to landing, rebroadcasts included,
            # and what that is at mainnet's 400 ms a slot whatever the stand-in's pace.
            "landing": acc.landing(400),
        },
        "memory": memory_figures(stats),
        "faults_fired": dict(stats.faults_fired),
        "fault_episodes": dict(stats.episodes),
        "rpc_failures": stats.rpc_failures,
        "harness_faults": {
            "restarts": stats.restarts,
            "crashes_after_send": stats.crashes_after_send,
            "transfers": stats.transfers,
            "transfers_external": stats.transfers_external,
            "transfer_failures": stats.transfer_failures[:10],
            "node_outages": stats.node_outages,
            "failed_over": stats.failed_over,
            "failed_back": stats.failed_back,
            "failover_failures": stats.failover_failures[:10],
        },
        "swaps_verified_and_forgotten": stats.harvested,
        "dirty": stats.dirty.to_dict(),
        **verdict_figures(stats, checks),
    }


def markdown(report: dict[str, Any]) -> str:
    run, cfg = report["run"], report["config"]
    lines = [
        "# Rampart soak report (Solana)",
        "",
        f"{cfg['accounts']} accounts on {', '.join(cfg['symbols'])}, "
        f"{run['simulated_s'] / 3600:.1f} h of simulated time in {run['wall_s']:.0f} s of wall "
        f"time (×{run['speedup']}, bound ×{cfg['speed']:g}), {run['slots']} slots at "
        f"{cfg['slot_ms']} ms; faults: {', '.join(cfg['faults']) or 'none'}; "
        f"{run['restarts']} restarts; seed {cfg['seed']}.",
        "",
        *verdict_table(report),
    ]
    for key in (
        "swaps",
        "lost",
        "duplicated",
        "reconciliation",
        "protection",
        "latency",
        "memory",
        "faults_fired",
        "fault_episodes",
        "rpc_failures",
        "harness_faults",
        "dirty",
        "crashes",
    ):
        lines.append(f"- {key}: {json.dumps(report[key], default=str)}")
    lines.append("")
    return "\n".join(lines)


def write(out_dir: Path, report: dict[str, Any]) -> tuple[Path, Path]:
    return write_report(out_dir, "soak-solana-report", report, markdown(report))

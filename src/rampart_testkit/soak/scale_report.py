"""The scale soak's verdict (issue 34): the launch criteria every soak reports (0 lost, 0
duplicated, 0 unprotected, 100 % reconciliation, with the single-process soak's own criterion
code), one line per worker fault, and the counts of faults, takeovers and fenced refusals; as
JSON and Markdown."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rampart_testkit.soak.config import SoakConfig
from rampart_testkit.soak.report import (
    Criterion,
    accuracy_criterion,
    critical_failures,
    duplicated_figures,
    protection_figures,
    reconciliation_figures,
    run_figures,
    verdict_figures,
    verdict_table,
    write_report,
)
from rampart_testkit.soak.scale_faults import CRASH, HANDOVER, NATS_RESTART, PAUSE, ScaleCounts
from rampart_testkit.soak.scale_workers import ScaleConfig
from rampart_testkit.soak.stats import SoakStats


def criteria(config: SoakConfig, stats: SoakStats, counts: ScaleCounts) -> list[Criterion]:
    acc, prot = stats.accounting, stats.protection
    asked = [k for k in config.faults if k not in counts.skipped]
    missing = [k for k in asked if not counts.injected.get(k)]
    injected = ", ".join(f"{k} ×{counts.injected[k]}" for k in config.faults if counts.injected[k])
    skipped = "; ".join(f"{k} skipped ({why})" for k, why in counts.skipped.items())
    out = [
        critical_failures(stats, prot.unprotected, acc.lost, acc.duplicated),
        Criterion("No lost orders or fills", str(acc.lost), "0", acc.lost == 0),
        Criterion("No duplicated orders or fills", str(acc.duplicated), "0", acc.duplicated == 0),
        Criterion(
            "Every position protected by a stop-loss",
            f"{prot.unprotected} of {prot.checks} position checks unprotected; "
            f"{stats.violations} candles with a position and no stop recorded",
            "0",
            prot.unprotected == 0 and stats.violations == 0,
        ),
        accuracy_criterion(stats),
        Criterion(
            "Worker faults injected",
            "; ".join(p for p in (injected or "none", skipped) if p),
            "each kind asked for",
            not missing,
        ),
    ]
    moved = counts.moved_after.values()
    lost_workers = counts.injected[CRASH] + counts.injected[PAUSE]
    out.append(
        Criterion(
            "A stopped worker's shards taken over",
            f"{counts.takeovers} takeovers, {counts.handovers} handovers; every crash's and "
            f"pause's shards held again within {max(moved, default=0)} candles"
            + (f"; not moved: {counts.not_moved}" if counts.not_moved else ""),
            "every shard, at the end of its lease",
            not counts.not_moved and (lost_workers == 0 or counts.takeovers > 0),
        )
    )
    if counts.injected[PAUSE]:
        out.append(
            Criterion(
                "A paused worker's late writes and orders fenced",
                f"{counts.fenced_writes} writes and {counts.fenced_orders} orders refused; "
                f"{counts.late_writes_saved} saved, {counts.late_orders_sent} sent",
                "0 saved, 0 sent",
                counts.late_writes_saved == 0
                and counts.late_orders_sent == 0
                and counts.fenced_writes > 0,
            )
        )
    if counts.injected[NATS_RESTART] or counts.injected[HANDOVER]:
        out.append(
            Criterion(
                "Every running worker kept receiving candles",
                f"{counts.nats_resumed} of {counts.injected[NATS_RESTART]} NATS restarts "
                f"resumed; {len(counts.stuck)} workers stuck",
                "0 stuck",
                not counts.stuck and counts.nats_resumed == counts.injected[NATS_RESTART],
            )
        )
    return out


def build(
    config: SoakConfig, scale: ScaleConfig, stats: SoakStats, counts: ScaleCounts
) -> dict[str, Any]:
    checks = criteria(config, stats, counts)
    acc = stats.accounting
    return {
        "config": {
            "duration_s": config.duration_s,
            "speed": config.speed,
            "faults": list(config.faults),
            "accounts": config.accounts,
            "symbols": list(config.symbols),
            "seed": config.seed,
            "reconcile_every_s": config.reconcile_every_s,
            "workers": scale.workers,
            "shards": scale.shards,
            "lease_s": scale.lease_s,
            "ops_step_s": scale.ops_step_s,
            "store": "postgresql" if scale.store_url else "sqlite",
        },
        "run": run_figures(stats),
        "orders": stats.orders,
        "fills": stats.fills,
        "orders_on_exchange": acc.orders_on_exchange,
        "fills_on_exchange": acc.fills_on_exchange,
        "lost": {
            "total": acc.lost,
            "orders": acc.lost_orders,
            "fills": acc.lost_fills,
            "unresolved": acc.unresolved_orders,
            "details": acc.details[:10],
        },
        "duplicated": duplicated_figures(acc),
        "reconciliation": reconciliation_figures(stats, None),
        "protection": protection_figures(stats.protection),
        "worker_faults": counts.to_dict(),
        **verdict_figures(stats, checks),
    }


def markdown(report: dict[str, Any]) -> str:
    run, cfg, rec = report["run"], report["config"], report["reconciliation"]
    wf = report["worker_faults"]
    lines = [
        "# Rampart scale soak report",
        "",
        f"{cfg['workers']} workers over {cfg['shards']} shards ({cfg['store']}, NATS JetStream "
        f"on 127.0.0.1), {cfg['accounts']} accounts on {', '.join(cfg['symbols'])}, "
        f"{run['simulated_s'] / 3600:.1f} h of simulated time in {run['wall_s']:.0f} s of wall "
        f"time; worker faults: {', '.join(cfg['faults']) or 'none'}; seed {cfg['seed']}.",
        "",
        "## Verdict",
        "",
        *verdict_table(report),
        f"- Orders on the exchange: {report['orders_on_exchange']}; fills: "
        f"{report['fills_on_exchange']}, each compared with the store's rows.",
        f"- Lost: {report['lost']['total']} (orders {report['lost']['orders']}, fills "
        f"{report['lost']['fills']}, unresolved {report['lost']['unresolved']}); duplicated: "
        f"{report['duplicated']['total']}.",
        f"- Reconciliation: accuracy {rec['accuracy_pct']} % over {rec['checks']} exact checks "
        f"of a shard's books against the exchange ({rec['checks_deferred_unsettled']} deferred "
        f"while an order was unconfirmed); runs {rec['runs']}.",
        f"- Worker faults injected: {wf['injected'] or 'none'}; skipped: "
        f"{wf['skipped'] or 'none'}.",
        f"- Shards: {wf['takeovers']} takeovers (lease run out), {wf['handovers']} handovers "
        f"(released); candles until a stopped worker's shards were held again: "
        f"{wf['candles_until_moved'] or 'none'} (a candle is {cfg['ops_step_s']:g} s of lease "
        f"time); {wf['workers_started']} workers started. Clean handovers moved "
        f"{wf['handover_shards']['mid_candle']} shards before and "
        f"{wf['handover_shards']['after_the_candle']} after trading the candle going round.",
        f"- Fenced refusals: {wf['fenced_refusals']['writes']} writes, "
        f"{wf['fenced_refusals']['orders']} orders; a paused worker's late work: "
        f"{wf['late_writes_saved']} writes saved, {wf['late_orders_sent']} orders sent "
        f"({wf['late_cancels_tried']} cancels of a resting stop tried).",
        f"- Lease rounds the store refused (connection drops): {wf['store_errors']}.",
        f"- Protection: {report['protection']}.",
    ]
    if report["crashes"]:
        lines += ["", "## Crashes", "", *[f"- {c}" for c in report["crashes"]]]
    if rec["failures"]:
        lines += ["", "## Reconciliation differences", "", *[f"- {f}" for f in rec["failures"]]]
    if wf["failures"] or report["lost"]["details"]:
        failed = [*wf["failures"], *report["lost"]["details"]]
        lines += ["", "## Failures", "", *[f"- {f}" for f in failed]]
    return "\n".join([*lines, ""])


def write(out_dir: Path, report: dict[str, Any]) -> tuple[Path, Path]:
    return write_report(out_dir, "scale-soak-report", report, markdown(report))


__all__ = ["build", "criteria", "markdown", "write"]

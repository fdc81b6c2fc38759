"""The scale soak's verdict: the launch criteria every soak reports (0 lost, 0
duplicated, 0 unprotected, 100 % reconciliation, with the single-process soak's own criterion
code), one line per worker fault, and the counts of faults, takeovers and fenced refusals; as
JSON and Markdown."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from rampart_testkit.soak.config import SoakConfig
from rampart_testkit.soak.figures import (
    memory_figures,
    money_figures,
    protection_figures,
    reconciliation_figures,
    run_figures,
    verdict_figures,
)
from rampart_testkit.soak.report import (
    Criterion,
    accuracy_criterion,
    latency_line,
    launch_criteria,
    lost_line,
    memory_criterion,
    order_criterion,
    problem_sections,
    rampart_growth_pct,
    verdict_table,
    write_report,
)
from rampart_testkit.soak.scale_faults import CRASH, HANDOVER, NATS_RESTART, PAUSE, ScaleCounts
from rampart_testkit.soak.scale_measure import FAILOVER_GOAL_S, ScaleTimings
from rampart_testkit.soak.scale_workers import ScaleConfig
from rampart_testkit.soak.stats import SoakStats


def worst_worker(timings: ScaleTimings) -> tuple[float, tuple[float, float] | None]:
    """The largest RSS growth (%) of a worker process alive from the baseline to the end,
    with its RSS then and at the end."""
    grown = [
        ((end - base) / base * 100, (base, end))
        for base, end in timings.worker_rss.values()
        if base > 0
    ]
    return max(grown, default=(0.0, None))


def growth(config: SoakConfig, stats: SoakStats, counts: ScaleCounts) -> tuple[float, float]:
    """Memory growth from the baseline to the end, in % and in % per simulated hour: of the
    worker processes when they are processes, else of this process without the in-process
    simulator's data (the single-process soak's measure)."""
    timings = counts.timings
    pct = worst_worker(timings)[0] if timings.worker_rss else rampart_growth_pct(stats)
    hours = stats.sim_s * (1 - config.baseline_at) / 3600
    return pct, pct / hours if hours > 0 else 0.0


def timing_criteria(config: SoakConfig, stats: SoakStats, counts: ScaleCounts) -> list[Criterion]:
    """Latency, failover, fan-out and memory, against the single-process soak's targets (order
    latency, memory) and the scale-out's (the failover goal, ``scale.ack_timeout_s``)."""
    timings = counts.timings
    failovers = timings.failover_s()
    lost = counts.injected[CRASH] + counts.injected[PAUSE]
    fan = timings.fan_out
    pct, per_hour = growth(config, stats, counts)
    where = (
        f"the worst of {len(timings.worker_rss)} worker processes"
        if timings.worker_rss
        else "this process, the simulator's data left out"
    )
    return [
        order_criterion(stats),
        Criterion(
            "Failover: a stopped worker's shards trading again",
            f"{len(failovers)} of {lost} crashes and pauses timed; from the last renewal to "
            f"trading again max {max(failovers, default=0):.1f} s "
            f"({'wall clock' if timings.worker_rss else 'the harness clock'})",
            f"< {FAILOVER_GOAL_S:g} s each",
            len(failovers) == lost and all(f < FAILOVER_GOAL_S for f in failovers),
        ),
        Criterion(
            "Commands reach every owning worker",
            f"{fan.n} fan-outs complete, p50 {fan.percentile(50) * 1000:.1f} ms, p99 "
            f"{fan.percentile(99) * 1000:.1f} ms; {len(timings.fan_out_incomplete)} incomplete",
            f"every one, within scale.ack_timeout_s ({timings.ack_timeout_s:g} s)",
            fan.n > 0
            and not timings.fan_out_incomplete
            and fan.percentile(99) < timings.ack_timeout_s,
        ),
        _per_hour(
            memory_criterion(
                stats,
                pct,
                f"; {per_hour:+.3f} % per simulated hour; {where}",
                worst_worker(timings)[1],
            ),
            per_hour,
            timings.memory_alert_per_h_pct,
        ),
    ]


def _per_hour(memory: Criterion, per_hour: float, alert: float) -> Criterion:
    """The run's growth criterion, and the growth per hour under the ``MemoryGrowth`` alert's
    threshold (``alerts.levels.memory_growth_per_h``) as well."""
    return replace(
        memory,
        target=f"{memory.target}; per hour < {alert:g} % (alerts.levels.memory_growth_per_h)",
        passed=memory.passed and per_hour < alert,
    )


def criteria(config: SoakConfig, stats: SoakStats, counts: ScaleCounts) -> list[Criterion]:
    prot = stats.protection
    asked = [k for k in config.faults if k not in counts.skipped]
    missing = [k for k in asked if not counts.injected.get(k)]
    injected = ", ".join(f"{k} ×{counts.injected[k]}" for k in config.faults if counts.injected[k])
    skipped = "; ".join(f"{k} skipped ({why})" for k, why in counts.skipped.items())
    protection = (
        f"{prot.unprotected} of {prot.checks} position checks unprotected; "
        f"{stats.violations} candles with a position and no stop recorded"
    )
    out = [
        *launch_criteria(stats, protection),
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
    if counts.injected[PAUSE] and counts.processes:
        out.append(
            Criterion(
                "A frozen worker process gave its shards up when it woke",
                f"{counts.woke_and_dropped} of {counts.injected[PAUSE]} woken workers dropped "
                f"{counts.dropped_on_waking} shards; {counts.fenced_writes} writes and "
                f"{counts.fenced_orders} orders refused by the fence",
                "each woken worker drops what was taken from it (lost, duplicated: 0)",
                counts.woke_and_dropped == counts.injected[PAUSE],
            )
        )
    elif counts.injected[PAUSE]:
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
    return [*out, *timing_criteria(config, stats, counts)]


def build(
    config: SoakConfig, scale: ScaleConfig, stats: SoakStats, counts: ScaleCounts
) -> dict[str, Any]:
    checks = criteria(config, stats, counts)
    pct, per_hour = growth(config, stats, counts)
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
            "worker_processes": scale.processes,
        },
        "run": run_figures(stats),
        **money_figures(stats),
        "reconciliation": reconciliation_figures(stats, None),
        "protection": protection_figures(stats.protection),
        "latency": {"order_round_trip": stats.order_latency.summary_ms()},
        "memory": memory_figures(
            stats,
            judged_growth_pct=round(pct, 3),
            growth_per_sim_hour_pct=round(per_hour, 4),
            simulator_data_baseline_mb=round(stats.sim_baseline_mb, 2),
            simulator_data_end_mb=round(stats.sim_end_mb, 2),
        ),
        "timings": counts.timings.to_dict(),
        "worker_faults": counts.to_dict(),
        **verdict_figures(stats, checks),
    }


def markdown(report: dict[str, Any]) -> str:
    run, cfg, rec = report["run"], report["config"], report["reconciliation"]
    wf, tm, mem = report["worker_faults"], report["timings"], report["memory"]
    clock = "the wall clock" if cfg["worker_processes"] else "the harness's liveness clock"
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
        lost_line(report),
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
        f"- Order round trip (ms): {latency_line(report['latency']['order_round_trip'])}.",
        f"- Command fan-out to every owning worker (ms): {latency_line(tm['fan_out'])}.",
        f"- Memory: {mem['judged_growth_pct']:+.2f} % from the baseline to the end "
        f"({mem['growth_per_sim_hour_pct']:+.3f} % per simulated hour).",
        "",
        "## Failover per fault",
        "",
        "| fault | shards | last renewal → trading | lease expiry → held | lease expiry → "
        "trading |",
        "|---|---|---|---|---|",
        *[
            f"| {e['fault']} | {e['shards']} | {_s(e['renewal_to_trading_s'])} | "
            f"{_s(e['lease_expiry_to_held_s'])} | {_s(e['lease_expiry_to_trading_s'])} |"
            for e in tm["episodes"]
        ],
        "",
        f"Times on {clock}; a handover has no lease expiry (its leases are released).",
    ]
    lines += problem_sections(report)
    if wf["failures"] or report["lost"]["details"]:
        failed = [*wf["failures"], *report["lost"]["details"]]
        lines += ["", "## Failures", "", *[f"- {f}" for f in failed]]
    return "\n".join([*lines, ""])


def _s(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds:.1f} s"


def write(out_dir: Path, report: dict[str, Any]) -> tuple[Path, Path]:
    return write_report(out_dir, "scale-soak-report", report, markdown(report))


__all__ = ["build", "criteria", "markdown", "write"]

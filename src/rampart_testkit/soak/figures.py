"""The soak reports' figures: a run's size and pace, its orders and fills, reconciliations,
protection, latency, memory and verdict, as the JSON report holds them (every soak's report
builds on these)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rampart_testkit.soak.memory_pct import memory_growth_pct
from rampart_testkit.soak.stats import SoakStats

if TYPE_CHECKING:
    from rampart_testkit.soak.report import Criterion


def accuracy_pct(stats: SoakStats) -> float:
    return stats.checks_passed / stats.checks * 100 if stats.checks else 0.0


def run_figures(stats: SoakStats, **before_restarts: int) -> dict[str, Any]:
    """The run's size and pace (a soak's own counts go in ``before_restarts``)."""
    return {
        "simulated_s": stats.sim_s,
        "wall_s": round(stats.wall_s, 2),
        "speedup": round(stats.sim_s / stats.wall_s, 1) if stats.wall_s else 0,
        "candles": stats.candles,
        "steps": stats.steps,
        **before_restarts,
        "restarts": stats.restarts,
    }


def money_figures(stats: Any) -> dict[str, Any]:
    """The orders and fills of a run: the engines' counts, the exchange's, the lost and the
    duplicated."""
    acc = stats.accounting
    return {
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
    }


def duplicated_figures(acc: Any) -> dict[str, Any]:
    return {
        "total": acc.duplicated,
        "orders": acc.duplicated_orders,
        "fills": acc.duplicated_fills,
    }


def protection_figures(prot: Any) -> dict[str, Any]:
    """The position checks of a run: where each coin's stop-loss was, and the unprotected."""
    return {
        "position_checks": prot.checks,
        "stop_on_exchange": prot.on_exchange,
        "stop_pending_confirmation_or_exiting": prot.pending,
        "monitor_guarded": prot.monitored,
        "unprotected": prot.unprotected,
        "doubled_stops": prot.doubled,
        "samples": prot.samples,
    }


def latency_figures(stats: Any) -> dict[str, Any]:
    return {
        "order_round_trip": stats.order_latency.summary_ms(),
        "signal": stats.signal_latency.summary_ms(),
    }


def reconciliation_figures(stats: SoakStats, repairs_stored: int | None) -> dict[str, Any]:
    """The reconciliations' checks and repairs (``repairs_stored``: when a store took them)."""
    stored = {} if repairs_stored is None else {"repairs_stored": repairs_stored}
    return {
        "accuracy_pct": round(accuracy_pct(stats), 2),
        "checks": stats.checks,
        "checks_passed": stats.checks_passed,
        "checks_deferred_unsettled": stats.checks_deferred,
        "runs": dict(stats.reconciliations),
        "mismatch_during_faults": stats.reconcile_mismatch_under_faults,
        "repairs": dict(stats.repairs),
        **stored,
        "final_differences": stats.final_differences[:20],
        "failures": stats.failures[:20],
    }


def memory_figures(stats: SoakStats, **more: float) -> dict[str, float]:
    return {
        "rss_start_mb": round(stats.rss_start_mb, 1),
        "rss_baseline_mb": round(stats.rss_baseline_mb, 1),
        "rss_end_mb": round(stats.rss_end_mb, 1),
        "growth_pct": round(memory_growth_pct(stats), 3),
        **more,
    }


def verdict_figures(stats: SoakStats, checks: list[Criterion]) -> dict[str, Any]:
    """The report's last keys: crashes, invariant violations and the criteria."""
    return {
        "crashes": stats.crashes[:20],
        "invariant_violations": stats.violations,
        "criteria": [c.to_dict() for c in checks],
        "passed": all(c.passed for c in checks),
    }

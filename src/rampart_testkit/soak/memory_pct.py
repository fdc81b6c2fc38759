"""A soak's memory growth in %: the whole process's, and Rampart's own (less what a production
process would not hold: the in-process simulator's data and the soak's own record of the run)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rampart_testkit.soak.stats import SoakStats


def memory_growth_pct(stats: SoakStats) -> float:
    """RSS growth from the warmed-up baseline to the end, in %, everything in the process."""
    base = stats.rss_baseline_mb or stats.rss_start_mb
    return (stats.rss_end_mb - base) / base * 100 if base else 0.0


def rampart_growth_pct(stats: SoakStats) -> float:
    """The same without the data the in-process exchange simulator holds (its order and
    trade history, its candles) and the soak's own record of the run: in production neither
    is in Rampart's process."""
    base = (
        (stats.rss_baseline_mb or stats.rss_start_mb)
        - stats.sim_baseline_mb
        - stats.harness_baseline_mb
    )
    end = stats.rss_end_mb - stats.sim_end_mb - stats.harness_end_mb
    return (end - base) / base * 100 if base > 0 else 0.0

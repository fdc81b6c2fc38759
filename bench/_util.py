"""Small helpers for the benchmarks: memory readings and percentiles."""

from __future__ import annotations

import os
from pathlib import Path

import psutil

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def rss_mb() -> float:
    return psutil.Process(os.getpid()).memory_info().rss / 1e6


def peak_rss_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def candle_files() -> list[Path]:
    if not SHARED_DATA.is_dir():
        return []
    return sorted(
        p
        for p in SHARED_DATA.iterdir()
        if p.suffix in {".feather", ".json"} and "trades" not in p.name
    )


def quiet_logs() -> None:
    import logging

    import structlog

    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.ERROR))

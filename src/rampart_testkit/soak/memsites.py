"""Where a soak's memory grew: tracemalloc snapshots at the memory baseline and at the end,
compared by allocation line (``rampart soak --memory-sites N``).

Off by default: tracing every allocation slows the soak several times and its own records
add to the memory being measured, so a run that lists the sites judges growth less exactly
than one that does not (the report says which it was)."""

from __future__ import annotations

import tracemalloc
from typing import Any

_NOISE = (
    tracemalloc.Filter(False, tracemalloc.__file__),
    tracemalloc.Filter(False, "<frozen importlib._bootstrap>"),
    tracemalloc.Filter(False, "<frozen importlib._bootstrap_external>"),
    tracemalloc.Filter(False, "<unknown>"),
)


class SiteTracer:
    def __init__(self, top: int) -> None:
        self.top = top
        self._before: tracemalloc.Snapshot | None = None
        self._started_here = False
        if top > 0 and not tracemalloc.is_tracing():
            tracemalloc.start(1)  # one frame: the line that allocated is what is listed
            self._started_here = True

    def baseline(self) -> None:
        if self.top > 0:
            self._before = tracemalloc.take_snapshot().filter_traces(_NOISE)

    def growth(self) -> list[dict[str, Any]]:
        """The sum over every line, then the ``top`` lines whose live allocations grew most
        since the baseline (KiB and blocks); tracing stops if this started it."""
        if self.top <= 0 or self._before is None:
            return []
        after = tracemalloc.take_snapshot().filter_traces(_NOISE)
        diffs = sorted(
            after.compare_to(self._before, "lineno"), key=lambda d: d.size_diff, reverse=True
        )
        if self._started_here:
            tracemalloc.stop()
        total = {
            "site": "(every traced Python allocation)",
            "kib": round(sum(d.size_diff for d in diffs) / 1024, 1),
            "blocks": sum(d.count_diff for d in diffs),
        }
        return [total] + [
            {
                "site": f"{d.traceback[0].filename}:{d.traceback[0].lineno}",
                "kib": round(d.size_diff / 1024, 1),
                "blocks": d.count_diff,
            }
            for d in diffs[: self.top]
        ]


def lines(sites: list[dict[str, Any]]) -> list[str]:
    """One line a site, for the console and the Markdown report."""
    return [f"{s['kib']:+10.1f} KiB {s['blocks']:+8d} blocks  {s['site']}" for s in sites]


__all__ = ["SiteTracer", "lines"]

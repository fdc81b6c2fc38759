"""A replay's garbage collector: frozen start-up objects and rare collections while it trades."""

from __future__ import annotations

import gc

REPLAY_GC_THRESHOLD = (10_000, 10, 100)
"""The garbage collector's thresholds while a replay trades (CPython's default: 700, 10, 10).
The per-candle path allocates and frees thousands of short-lived objects that reference
counting already frees; at the default a young collection ran every few candles and a full one
(~50 ms, walking every imported object) every ~125k candles: 3-4 % of a replay."""


class ReplayGc:
    """During a replay, the objects alive at the start (imports, schema, settings: they live as
    long as the process) are frozen out of the collector's walks and collections run rarely;
    both are undone when the session closes."""

    def __init__(self) -> None:
        self._saved: tuple[int, int, int] | None = None

    def start(self) -> None:
        if self._saved is None:
            self._saved = gc.get_threshold()
            # Garbage first: frozen, the cycles an earlier session left would never be
            # collected. A search opens a session per trial in one process, and each froze the
            # last trial's uncollected engine: `rampart optimize` grew ~1.4 MiB a trial (issue
            # 71). One full collection per session (~10-30 ms) keeps it flat.
            gc.collect()
            gc.freeze()
            gc.set_threshold(*REPLAY_GC_THRESHOLD)

    def stop(self) -> None:
        if self._saved is not None:
            gc.set_threshold(*self._saved)
            gc.unfreeze()
            self._saved = None


__all__ = ["REPLAY_GC_THRESHOLD", "ReplayGc"]

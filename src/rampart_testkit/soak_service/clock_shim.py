"""The service's host clock, as the run steps it: ``rampart run`` started through :func:`run`
reads the host's wall clock (``time.time``, ``time.time_ns``) plus an offset in milliseconds
that the run writes to a file (:data:`ENV` names it), read again at most every 0.2 s. Everything
in the process that reads the host clock sees the step, as on a host whose clock is set by hand;
the monotonic clock does not move, as it does not on such a host."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

ENV = "RAMPART_SOAK_CLOCK_OFFSET_FILE"
REREAD_S = 0.2


def offset_reader(path: Path) -> Callable[[], int]:
    """The offset in nanoseconds now (0 while the file is absent or unreadable)."""
    state = {"offset_ns": 0, "read": float("-inf")}

    def offset_ns() -> int:
        now = time.monotonic()
        if now - state["read"] >= REREAD_S:
            state["read"] = now
            try:
                state["offset_ns"] = int(path.read_text(encoding="utf-8").strip() or 0) * 1_000_000
            except (OSError, ValueError):
                state["offset_ns"] = 0
        return int(state["offset_ns"])

    return offset_ns


def install(path: Path) -> None:
    real_ns = time.time_ns
    offset_ns = offset_reader(path)

    def time_ns() -> int:
        return real_ns() + offset_ns()

    def time_s() -> float:
        return time_ns() / 1e9

    time.time_ns = time_ns
    time.time = time_s


def run() -> None:
    """``rampart`` with the host clock stepped as the file says (a plain ``rampart`` without)."""
    path = os.environ.get(ENV)
    if path:
        install(Path(path))
    from rampart.cli.main import main

    main()


__all__ = ["ENV", "install", "offset_reader", "run"]

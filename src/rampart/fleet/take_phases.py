"""How long each part of a shard's take took: a take that resumed trading late is
broken into its parts in the worker's log (``shard_open_phases``), so what to make faster is
read from a chaos run instead of guessed.

Wall seconds (``time.perf_counter``): what the accounts waited, CPU starvation included. Not
business time, which the engines read from the Clock.
"""

from __future__ import annotations

import time


class Phases:
    def __init__(self) -> None:
        self.started = time.perf_counter()
        self._last = self.started
        self.seconds: dict[str, float] = {}

    def lap(self, name: str) -> None:
        """The part ``name`` ended now (it began when the last one ended); a part seen twice
        adds up."""
        now = time.perf_counter()
        self.seconds[name] = round(self.seconds.get(name, 0.0) + now - self._last, 3)
        self._last = now

    def total(self) -> float:
        return round(time.perf_counter() - self.started, 3)


__all__ = ["Phases"]

"""When a worker has read enough of the market stream to take shards.

A worker takes a shard only once it holds the market history the stream kept, so the shard's
agents warm on it. Waiting for a consumer lag of exactly 0 left a worker whose lag sat at 3
(candles of several symbols landing together, a stream that never quite drains under load)
never taking a shard. Caught up is measured in time instead: the lag at 0 once, or at most
:data:`NEAR_LAG` (about one timeframe's candles of a few symbols) for :data:`HOLD_MS` on the
ops clock. Once caught up a worker stays so: falling behind later is ``ConsumerLagHigh``'s to
say, not a reason to stop taking shards.
"""

from __future__ import annotations

NEAR_LAG = 10
"""Candles behind that still count as caught up once they held for :data:`HOLD_MS`."""
HOLD_MS = 3_000
"""How long the lag must stay at most :data:`NEAR_LAG` (ops clock)."""


class CatchUp:
    def __init__(self, done: bool = False, near: int = NEAR_LAG, hold_ms: int = HOLD_MS) -> None:
        self.done = done
        self.near = near
        self.hold_ms = hold_ms
        self._near_since: int | None = None
        """When the lag last came within :attr:`near` (ops clock); None while it is not."""

    def seen(self, lag: int, now_ms: int) -> bool:
        """One reading of the lag (after a candle, or at a lease round); whether caught up."""
        if self.done:
            return True
        if lag <= 0:
            self.done = True
        elif lag <= self.near:
            if self._near_since is None:
                self._near_since = now_ms
            self.done = now_ms - self._near_since >= self.hold_ms
        else:
            self._near_since = None
        return self.done


__all__ = ["HOLD_MS", "NEAR_LAG", "CatchUp"]

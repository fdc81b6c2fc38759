"""What a worker does with each candle of the market stream: hand it to every shard it holds,
the one just taken first, each under its own lock. A function of the worker, kept apart from its
lifecycle and its lease rounds."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rampart.domain.candles import Candle
from rampart.fleet.lease_open import acting, next_to_trade

if TYPE_CHECKING:
    from rampart.fleet.shard import ShardTrader
    from rampart.fleet.worker_state import WorkerState

MAX_WARMED = 30
"""Candles in a row a worker behind the market may only warm its exchange shards on."""


async def on_candle(self: WorkerState, candle: Candle, lag: int) -> None:
    """One candle from the market stream: to every shard held (each skips what it has
    seen), unless this worker's lease on it has run out by its own clock (past the grace in
    which a database away still lets it cover the coins held: :func:`acting`)."""
    self.metrics.scale.consumer_lag.labels(stream="market").set(lag)
    self.remember(candle)
    self.catchup.seen(lag, self.ops_clock.now_ms())
    stale = self.receiver.stale if self.receiver is not None else False
    self.metrics.scale.commands_stale.set(1 if stale else 0)
    # Each shard's own lock: a shard handed over, taken or reconciled waits for its own
    # candle at most, never for another shard's (one whose pass holds it is passed by).
    self.clock.set(max(self.clock.now_ms(), candle.close_ts))
    # A shard just taken goes first: its accounts have waited a takeover already, and on a
    # busy machine a candle's round of every other shard takes seconds. Chosen
    # anew before each shard: one that joins while the round goes trades this candle next,
    # not after every shard held before it (7-20 s on a starved worker).
    # A full round of newer candles waits behind this one (the worker is behind the market):
    # exchange shards only warm on it (ShardTrader.skip), at most MAX_WARMED in a row.
    behind = lag >= max(len(self.recent), 1) and self.warmed < MAX_WARMED
    self.warmed = self.warmed + 1 if behind else 0
    done: list[ShardTrader] = []
    while trader := next_to_trade(self.traders, self.takes.claimed_ms, done):
        done.append(trader)
        async with self.locks(trader.shard):
            if self.traders.get(trader.shard) is not trader:
                continue  # handed back or lost while this candle went round
            if not acting(self, trader):
                continue  # the next round says whether it is still ours
            trader.engine.commands_stale = stale
            if behind and trader.skip(candle):
                continue
            if await trader.trade(candle, self.recent[candle.symbol]):
                self.traded += 1
                self.metrics.scale.candle_traded(self.ops_clock.now_ms())
                self.takes.decided(trader.shard, candle.close_ts)
    async with self.progress:
        self.progress.notify_all()

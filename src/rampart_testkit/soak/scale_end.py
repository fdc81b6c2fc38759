"""The end of the in-process scale soak: the fleet settled without faults, then every shard
reconciled and checked, checkpointed, and the store compared with the exchange. A function of
:class:`~rampart_testkit.soak.scale_harness.ScaleSoak`, kept apart from its steps."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rampart.store.leases import lease_table
from rampart_testkit.soak.scale_checks import (
    checkpoint_all,
    protect,
    reconcile_all,
    store_against_exchange,
)
from rampart_testkit.soak.scale_verify import unsettled
from rampart_testkit.soak.scale_workers import all_traders

if TYPE_CHECKING:
    from rampart_testkit.soak.scale_harness import ScaleSoak


async def finish(self: ScaleSoak) -> None:
    """No more faults: step on until every shard is held by a running worker and no order
    is unconfirmed, reconcile and check every shard, checkpoint them all, and compare the
    store with the exchange."""
    cfg = self.cfg
    for _ in range(4 * (self.scale.lease_steps + cfg.settle_candles)):
        if _settled(self):
            break
        await self.sim.advance(1)
        await self._publish()
        self.ops.advance(int(self.scale.ops_step_s * 1000))
        await self.sender.heartbeat()
        await self._wait_candle()
        await self._rounds()
        await self._after_pause(self.stats.steps)
        self._watch_moves(self.stats.steps)
        protect(self.stats, self.sim, self._active())
        self.stats.steps += 1
        self.stats.candles += len(self.last_close)
    await self.sim.idle()
    await reconcile_all(self.stats, self.sim, self._active(), "final", check=True)
    protect(self.stats, self.sim, self._active())
    await checkpoint_all(self.stats, self.workers, cfg.account_ids())
    self.counts.not_moved.extend(m[0] for m in self.moving)
    engines = [t.engine for _w, t in all_traders(self.workers)]
    await store_against_exchange(self.stats, self.db, self.sim, cfg.account_ids(), engines)
    for worker in self.workers:
        self._gone(worker)


def _settled(self: ScaleSoak) -> bool:
    if self.paused is not None or self.moving or self.counts.timings.open:
        return False
    table = lease_table(self.db)
    names = {w.name for w in self.workers}
    now = self.ops.now_ms()
    if not all(h.live(now) and h.owner in names for h in table.values()):
        return False
    return not any(unsettled(t.engine) for _w, t in all_traders(self.workers))

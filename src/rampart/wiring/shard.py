"""One shard as a worker trades it: its accounts' session, taken over and handed back whole.

A shard's accounts have an engine, a venue and a store writer of their own, and a checkpoint
of their own (``shard-<n>``): what moves from one worker to another is that checkpoint, so a
shard can be traded by any worker of any version that reads it.

**Taking a shard** (:meth:`ShardTrader.take`): the accounts of the shard (the configured ones
and those an operator or an investor started, found in the store) are added, the checkpoint is
loaded, the agents are warmed on the candles the worker holds, and then:

- on a venue that matches on our candles (paper), the candles after the checkpoint are traded
  in order (the previous owner had traded them, or would have; the venue is the checkpoint's);
- on a venue whose truth is elsewhere (an exchange, a chain), they only warm the agents and
  the books are reconciled with the venue before the first candle: what the previous owner
  sent after its last checkpoint is found there, booked as it happened, and protected.

**Handing a shard back** (:meth:`ShardTrader.hand_back`, a rebalance or a deploy step): a
checkpoint under the lease, then the lease is released; a checkpoint the store refuses keeps
the shard where it is. **Losing it** (:meth:`drop`, another
worker took it): nothing is written (the fence would refuse it anyway), and what was not saved
is dropped, as a checkpoint the fence refused drops its rows: the new holder rebuilds it from
the venue, and rows it derives again that the old holder had saved (fills, closed trades) are
written by their natural keys, so they land once (:mod:`rampart.store.upserts`).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

import structlog

from rampart.domain.candles import Candle
from rampart.domain.instruments import Instrument
from rampart.domain.shards import shard_of
from rampart.operator.control import restore_operator_accounts
from rampart.operator.investors import restore_investor_accounts
from rampart.trading.ports import Updates, Venue
from rampart.trading.reconcile.reconciler import Reconciler
from rampart.wiring.exchange_loop import reconcile_venue
from rampart.wiring.session import TradingSession

if TYPE_CHECKING:
    from rampart.clock import SimClock
    from rampart.config import Settings

log = structlog.get_logger("rampart.worker.shard")


def checkpoint_name(shard: int) -> str:
    return f"shard-{shard}"


class ShardTrader:
    def __init__(
        self,
        shard: int,
        shards: int,
        settings: Settings,
        clock: SimClock,
        instruments: dict[str, Instrument],
        *,
        db: Any,
        fence: Callable[[Any], None],
        wrap_venue: Callable[[Venue], Venue],
        lock: asyncio.Lock,
    ) -> None:
        self.shard = shard
        self.shards = shards
        self.lock = lock
        mine = [a for a in settings.accounts if shard_of(a.id, shards) == shard]
        self.session = TradingSession(
            settings,
            clock,
            instruments,
            db_url=settings.store.url,
            checkpoint_name=checkpoint_name(shard),
            accounts=mine,
            checkpoint_every=settings.store.checkpoint_every,
            wrap_venue=wrap_venue,
            db=db,
            fence=fence,
        )
        self.reconciler = Reconciler(concurrency=settings.venue.reconcile_concurrency)
        self.trading = False
        """Restored: checkpoint loaded, books reconciled; candles are traded from now."""

    def owns(self, account_id: str) -> bool:
        return shard_of(account_id, self.shards) == self.shard

    @property
    def engine(self) -> Any:
        return self.session.engine

    @property
    def reconciled(self) -> bool:
        """Its venue's truth is elsewhere, so it is reconciled (an exchange, a chain)."""
        return self.engine.capabilities.updates is Updates.POLLED

    async def take(self, recent: Iterable[Candle]) -> int:
        """Open the shard (see the module's docstring); returns the candles traded to catch up.
        The caller holds the worker's lock: no candle is traded meanwhile."""
        started = time.perf_counter()
        session = self.session
        await session.open()
        await restore_operator_accounts(session, only=self.owns)
        await restore_investor_accounts(session, only=self.owns)
        saved = session.checkpoint_seen
        seen = saved or {}
        fresh = saved is None
        later: list[Candle] = []
        for candle in sorted(recent, key=lambda c: (c.close_ts, c.symbol)):
            if fresh or candle.close_ts <= seen.get(candle.symbol, 0):
                session.warm(candle)
            else:
                later.append(candle)
        session.finish_resume()
        traded = 0
        if self.reconciled:
            for candle in later:
                session.warm(candle)  # sent or not, the venue says: reconciled next
            # A takeover is a start for the shard: orders the previous owner sent after its last
            # checkpoint are adopted whatever their age, and new ids are moved past theirs.
            await reconcile_venue(session, contextlib.nullcontext(), self.reconciler, "start")
        else:
            for candle in later:
                await session.process(candle)
                traded += 1
        self.trading = True
        log.info(
            "shard_taken",
            shard=self.shard,
            accounts=len(self.engine.accounts),
            resumed=not fresh,
            caught_up=traded,
            seconds=round(time.perf_counter() - started, 3),
        )
        return traded

    async def trade(self, candle: Candle) -> bool:
        """Trade ``candle`` unless this shard has seen it already (a feed restarted, or history
        the worker received before taking the shard)."""
        if not self.trading or candle.close_ts <= self.engine.data_ts.get(candle.symbol, 0):
            return False
        await self.session.process(candle)
        return True

    async def reconcile(self, reason: str) -> None:
        if self.trading and self.reconciled:
            await reconcile_venue(self.session, contextlib.nullcontext(), self.reconciler, reason)

    async def hand_back(self, still_mine: Callable[[], bool]) -> bool:
        """Write the checkpoint and stop; the caller releases the lease after. When the store
        refuses the checkpoint while the shard is still this worker's, it is kept and goes on
        trading (False): handing it over would make its next owner resume from an older
        checkpoint. Refused because another worker took it meanwhile: dropped (True)."""
        self.trading = False
        if not await self.session.checkpoint_off_loop() and still_mine():
            self.trading = True
            log.warning("shard_kept", shard=self.shard, why="its checkpoint was not saved")
            return False
        await self._close()
        log.info("shard_handed_back", shard=self.shard)
        return True

    async def drop(self) -> None:
        """Another worker holds the shard: stop at once and write nothing."""
        self.trading = False
        await self._close()
        log.warning("shard_lost", shard=self.shard)

    async def _close(self) -> None:
        self.session.discard()
        closer = getattr(self.session.venue, "aclose", None)  # an exchange's HTTP clients
        if closer is not None:
            with contextlib.suppress(Exception):
                await closer()


__all__ = ["ShardTrader", "checkpoint_name"]

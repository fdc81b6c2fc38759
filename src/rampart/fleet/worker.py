"""``rampart worker``: trades the account shards it holds a lease on.

A worker reads candles from the market stream on JetStream (``rampart feed`` publishes them once),
commands from the command stream, and the shard leases from PostgreSQL. Every
``scale.renew_every_s`` it gives back what is above its fair share and takes free or expired shards
(:meth:`Worker.lease_round`; each take on a task of its own), while a thread renews its leases
every half of that whatever the loop is doing (:class:`~rampart.fleet.lease_keeper.LeaseKeeper`);
each shard it holds is a :class:`~rampart.fleet.shard.ShardTrader` with its own engine, venue and
checkpoint. A shard is taken only once the worker has caught up with the market stream
(:mod:`rampart.fleet.lease_catchup`), so its agents are warm before it trades.

Three clocks, as in ``rampart run``: the engines' clock is the close of the last candle traded
(``clock``); leases, heartbeats and the command stream's staleness are liveness, on the ops
clock (the wall clock; a test passes a SimClock), shared by every worker through the database.

SIGTERM or SIGINT: every shard is handed back (a checkpoint, then the lease is released), so
the other workers take them at their next round instead of waiting for the leases to run out.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from functools import partial

import structlog

from rampart.domain.candles import Candle
from rampart.domain.errors import StoreError, present
from rampart.domain.instruments import Instrument
from rampart.domain.shards import shard_of
from rampart.fleet.database_wait import open_waiting
from rampart.fleet.lease_keeper import LeaseKeeper
from rampart.fleet.lease_open import stale_traders, take_shard
from rampart.fleet.nats_wait import connect_waiting
from rampart.fleet.shard_locks import side_by_side
from rampart.fleet.tracing_hooks import traced_candles, traced_commands
from rampart.fleet.worker_candles import on_candle
from rampart.fleet.worker_commands import apply_command
from rampart.fleet.worker_errors import record_errors
from rampart.fleet.worker_follow import follow_loop
from rampart.fleet.worker_messaging import watch_messaging
from rampart.fleet.worker_reconcile import reconcile_loop
from rampart.fleet.worker_state import WorkerState, default_name
from rampart.market.service_feed import feed_of
from rampart.messaging.commands import Command, CommandReceiver
from rampart.messaging.market import MARKET_STREAM, CandleSubscription, market_stream
from rampart.messaging.nats_link import command_stream, connect
from rampart.notices.outbox_writer import OutboxWriter
from rampart.rollout.deploy import eligible_shards, read_deploy
from rampart.runtime.shutdown import STOP_DEADLINE_S, StopSignals
from rampart.store.db import bound_waits, open_database
from rampart.store.frozen_sessions import session_name
from rampart.store.leases import ShardLeases
from rampart.trading.reconcile.last_pass import LAST_PASS_S

log = structlog.get_logger("rampart.worker")

COMMANDS_CHECKED_EVERY = 5
"""Lease rounds between two checks that the command consumer still exists."""


class Worker(WorkerState):
    # -- opening ------------------------------------------------------------------------------

    async def open(self) -> None:
        settings = self.settings
        self.parts.check_trading_mode()  # before any connection
        # Started while PostgreSQL is away: wait for it, as a running worker rides it out.
        tell = partial(self.console.print, markup=False, highlight=False)
        opening = partial(open_database, settings.store.url)
        self.db = await open_waiting(opening, self.ops_clock, self.stop, tell)
        bound_waits(self.db, int(self.scale.lease_s * 1000), name=session_name(self.name))
        url = self.watch.open(self.db, settings.store.slow_query_ms)
        leases = ShardLeases(
            self.db,
            self.name,
            self.ops_clock,
            int(self.scale.lease_s * 1000),
            version=self.version,
            role=self.role,
            metrics_url=url,
            early=self.scale.early_takeover,
        )
        await asyncio.to_thread(leases.ensure, self.scale.shards)
        self.leases = leases
        if self.parts.tells_investors:
            self.notices = OutboxWriter(self.db, self.ops_clock)
        self.instruments = await self._instruments()
        # Started while NATS is away (a restart during a NATS restart): wait for it too.
        nats = partial(connect, self.scale.nats_url, f"rampart-worker-{self.name}")
        self.nc = await connect_waiting(nats, self.ops_clock, self.stop, tell)
        commands = self.commands = await command_stream(self.nc, self.scale.replicas)
        market = await market_stream(self.nc, self.scale.market_keep, self.scale.replicas)
        self.receiver = CommandReceiver(
            self.nc,
            commands,
            self.name,
            self.ops_clock,
            traced_commands(self),
            self.scale.command_stale_s,
            recreate=lambda: command_stream(self.nc, self.scale.replicas),
        )
        await self.receiver.start()
        state = (await market.stream_info(MARKET_STREAM)).state
        self.catchup.done = state.messages == 0  # nothing to read first
        quiet_ms = int(self.scale.lease_s * 1000)  # a loop stuck a whole lease lets go
        self.keeper = LeaseKeeper(leases, self.scale.renew_every_s / 2, self.name, quiet_ms)
        record_errors(self)  # its error lines in the store, for the deploy gates
        scale = self.scale
        self.subscription = CandleSubscription(
            market,
            traced_candles(self),
            recreate=lambda: market_stream(self.nc, scale.market_keep, scale.replicas),
        )
        await self.subscription.start()
        watch_messaging(self)  # link to NATS, candles overdue
        _stream, _typical, symbols = feed_of(settings)
        traders = lambda: list(self.traders.values())  # noqa: E731 - read at each sample
        self.watch.bind(traders, symbols, self.recent, self.subscription.behind)
        renewed = self.metrics.scale.lease_age
        renewed.set_function(lambda: (self.ops_clock.now_ms() - self._last_renewal()) / 1000)
        log.info("worker_open", worker=self.name, shards=self.scale.shards, version=self.version)

    async def _command(self, command: Command) -> str:
        """Apply ``command`` once the takes under way are done: it reaches the shards they open
        too, as when a take held the lock throughout. Not a kill switch: it stops entries on
        the shards held at once, and a shard being opened reads it from the store."""
        if command.kind != "kill":
            await self.takes.settle()
        return await apply_command(self, command)

    def _last_renewal(self) -> int:
        kept = self.keeper.renewed_ms if self.keeper is not None else 0
        return max(self._renewed_at, kept)

    async def _instruments(self) -> dict[str, Instrument]:
        _stream, typical, symbols = feed_of(self.settings)
        return await self.parts.instruments(symbols, typical)

    # -- candles ------------------------------------------------------------------------------

    async def on_candle(self, candle: Candle, lag: int) -> None:
        """One candle from the market stream (:func:`~rampart.fleet.worker_candles.on_candle`)."""
        await on_candle(self, candle, lag)

    # -- leases -------------------------------------------------------------------------------

    async def lease_round(self) -> None:
        """One round (:meth:`plan_round`), then wait for the takes it started: what a test or a
        caller stepping the worker by hand wants."""
        await self.plan_round()
        await self.takes.settle()
        await self._told()

    async def plan_round(self) -> None:
        """Renew, drop what another worker took, give back above the fair share (checkpoint,
        then release) and start taking the shards claimed, each on a task of its own: the
        round returns without waiting for them (an exchange's reconciliation may outlast a
        lease), and the keeper's thread renews meanwhile."""
        leases = present(self.leases, "the shard leases (the worker is open)")
        if self.subscription is not None:  # a reading between candles: the lag may sit still
            self.catchup.seen(self.subscription.behind(), self.ops_clock.now_ms())
        # The first round only says this worker is here: workers started together then see
        # each other before any takes a shard, instead of the first taking all and handing
        # most back, one slow takeover at a time.
        take = self.caught_up and self.rounds > 0
        deploy = await asyncio.to_thread(read_deploy, self.db)
        eligible, peers = eligible_shards(deploy, self.version, self.role, self.scale.shards)
        step = await asyncio.to_thread(
            partial(
                leases.step,
                take=take,
                release=False,
                eligible=eligible,
                peers=peers,
                # A lease run out a round ago, or a shard free for a lease, is taken above the
                # share: a peer below it had its round (or its start) to take it first.
                grace_ms=int(self.scale.renew_every_s * 1000),
                free_grace_ms=int(self.scale.lease_s * 1000),
                rebalance=self.rebalance.on,
            )
        )
        self.rounds += 1
        self._renewed_at = self.ops_clock.now_ms()
        if self.receiver is not None and self.rounds % COMMANDS_CHECKED_EVERY == 0:
            await self.receiver.check()  # its consumer gone with a lost store: made again
        self.rebalance.gained(step.gained)
        for shard in step.gained:
            self.takes.claimed(shard, step.unheld_ms.get(shard))
        await self._drop([*step.lost, *self._lost(), *stale_traders(self)])
        for shard in step.released:
            async with self.locks(shard):
                if await self._hand_back(shard):
                    self.rebalance.gave([shard])
        held = {lease.shard for lease in list(leases.leases.values())}
        new = [s for s in sorted(held - self.traders.keys()) if leases.valid(s)]
        # Opened a few at a time (lease_open.take_shard), the smallest first, so that most of
        # the accounts waiting trade soonest.
        sizes = Counter(shard_of(a.id, self.scale.shards) for a in self.settings.accounts)
        for shard in sorted(new, key=lambda s: (sizes[s], s)):
            if not self.takes.taking(shard):
                self.takes.start(shard, self._take(shard))
        if step.lost or step.released:
            # A shard let go is a cycle (engine, session, venue) only a full collection frees;
            # left to the collector, takeovers grew a worker's memory 5 % in 3 h of the soak.
            gc.collect()
        await self._told()

    async def keep_leases(self) -> None:
        """Renew what is held (no planning, no moves), and drop what another worker took."""
        leases = present(self.leases, "the shard leases (the worker is open)")
        lost = await asyncio.to_thread(leases.keep)
        self._renewed_at = self.ops_clock.now_ms()
        await self._drop(lost)

    def _lost(self) -> list[int]:
        return self.keeper.take_lost() if self.keeper is not None else []

    async def _drop_lost(self) -> None:
        """Drop the traders of the shards the keeper's thread found taken by another."""
        await self._drop(self._lost())

    async def _drop(self, lost: Iterable[int]) -> None:
        """Drop the traders of ``lost`` opened under a lease this worker no longer holds. A
        shard lost and claimed again since (the keeper's report can come after the round that
        claimed it back) keeps its take and its trader of the new lease."""
        leases = present(self.leases, "the shard leases (the worker is open)")
        for shard in dict.fromkeys(lost):
            held = leases.leases.get(shard)
            if held is None:
                self.takes.forget(shard)
                self.takes.cancel(shard)  # a take under way: its open is another worker's now
                self.takes.cancel_check(shard)
            async with self.locks(shard):
                trader = self.traders.get(shard)
                if trader is None or (held is not None and trader.token == held.token):
                    continue
                del self.traders[shard]
                await trader.drop()
                self.metrics.scale.lost.inc()

    async def _told(self) -> None:
        self.metrics.scale.shards.set(len(self.traders))
        async with self.progress:
            self.progress.notify_all()

    async def _take(self, shard: int) -> None:
        await take_shard(self, shard)

    async def _hand_back(self, shard: int) -> bool:
        """Checkpoint ``shard`` and release it; False (kept, still traded) when the store
        refused the checkpoint."""
        leases = present(self.leases, "the shard leases (the worker is open)")
        trader = self.traders.get(shard)
        if trader is not None:
            if not await trader.hand_back(partial(leases.valid, shard)):
                return False
            del self.traders[shard]
        elif self.takes.cancel(shard):  # given back half open: nothing of it traded yet
            self.takes.forget(shard)
        lease = leases.leases.get(shard)
        if lease is not None:
            await asyncio.to_thread(leases.release, lease)
        return True

    # -- running ------------------------------------------------------------------------------

    async def _every(self, seconds: float, work: Callable[[], Awaitable[None]], name: str) -> None:
        while not self.stop.is_set():
            try:
                await work()
            except StoreError as err:
                # The database is away: the leases run out on their own, and trading what is
                # held stops with them (valid() on the clock) until a later round renews.
                log.error(f"{name}_failed", worker=self.name, error=err.message)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stop.wait(), seconds)

    async def run(self) -> None:
        # The signals' deadline holds over the hand-backs too: they may wait on the store.
        with contextlib.ExitStack() as signals:
            try:
                await self.open()
                self.console.print(
                    f"Worker {self.name} on {self.scale.nats_url}: {self.scale.shards} shards "
                    f"shared with the other workers."
                )
                if self.install_signals:
                    signals.enter_context(StopSignals(self.stop, deadline_s=STOP_DEADLINE_S))
                await self._run_parts()
            finally:
                await self.aclose()

    async def _run_parts(self) -> None:
        subscription = present(self.subscription, "the market subscription (the worker is open)")
        tasks = [
            asyncio.create_task(
                self._every(self.scale.renew_every_s, self.plan_round, "lease_round"),
                name="leases",
            ),
            asyncio.create_task(
                self._every(self.scale.renew_every_s / 2, self._drop_lost, "renewal"),
                name="renewals",
            ),
            asyncio.create_task(subscription.run(self.stop), name="market"),
            asyncio.create_task(reconcile_loop(self), name="reconcile"),
            asyncio.create_task(follow_loop(self), name="follow"),
            asyncio.create_task(self.watch.run(self.stop), name="metrics"),
        ]
        if self.keeper is not None:
            self.keeper.start()
        if self.notices is not None:
            notices = self.notices.run(self.stop, self.scale.renew_every_s)
            tasks.append(asyncio.create_task(notices, name="notices"))
        try:
            done, _ = await asyncio.wait(
                [*tasks, asyncio.create_task(self.stop.wait())],
                return_when=asyncio.FIRST_COMPLETED,
            )
            for task in done:
                if task in tasks and task.exception() is not None:
                    raise task.exception()  # type: ignore[misc]
        finally:
            self.stop.set()
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _last_passes(self) -> None:
        """Before the hand-backs, every shard's last pass, side by side within one bound: its
        exchange's fills booked and its coins covered (:meth:`ShardTrader.last_pass`)."""

        async def one(shard: int) -> None:
            trader = self.traders.get(shard)
            done = None if trader is None else await trader.last_pass(LAST_PASS_S)
            if done is not None and not done.clean:
                self.console.print(f"Shard {shard}: {done.text}")

        await side_by_side(self.locks, sorted(self.traders), one)

    async def _hand_backs(self) -> None:
        """Every shard handed back at once, each under its lock; a store that refuses one is
        the next holder's to reconcile (its lease runs out)."""

        async def one(shard: int) -> None:
            with contextlib.suppress(StoreError):
                await self._hand_back(shard)

        failed = await side_by_side(self.locks, sorted(self.traders), one)
        if failed:
            raise failed[0]

    async def aclose(self) -> None:
        """Hand every shard back, then let go of NATS and the database."""
        if self.background:  # a kill switch's cancels first: they are part of the command
            await asyncio.gather(*self.background, return_exceptions=True)
        await self.takes.stop_checks()  # they hold shard locks the hand-backs need
        await self.takes.settle()  # a shard half open is handed back whole
        if self.leases is not None:
            await self._last_passes()
            await self._hand_backs()
            if self.keeper is not None:
                self.keeper.stop()  # after the hand-backs: their checkpoints need the leases
            with contextlib.suppress(StoreError):  # stopped on purpose: not a worker down
                await asyncio.to_thread(self.leases.leave)
        if self.notices is not None:
            with contextlib.suppress(Exception):  # the store away: these few are lost
                await self.notices.flush()
        for part in (self.subscription, self.receiver):
            if part is not None:
                with contextlib.suppress(Exception):
                    await part.stop()
        if self.nc is not None:
            with contextlib.suppress(Exception):
                await self.nc.close()
        if self.db is not None:
            self.db.dispose()
        self.watch.close()
        if self.leases is not None:
            self.console.print(f"Worker {self.name} stopped; it traded {self.traded:,} candles.")


__all__ = ["Worker", "default_name"]

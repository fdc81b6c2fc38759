"""The scale soak's checks on the shards a worker trades in this process: every
position's stop-loss on the exchange, and each shard's books reconciled and compared with the
exchange's, exactly. The in-process soak runs them on its workers after every step and in quiet
spells; the soak of worker processes runs them at the end on a worker of its own that takes
every shard over from the store."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Iterable
from typing import Any

import sqlalchemy as sa
import structlog

from rampart.trading.engine import Engine
from rampart.trading.reconcile.context import ReconcileReport
from rampart_testkit.simulator.runner import SimulatorHandle
from rampart_testkit.soak import scale_verify, verify
from rampart_testkit.soak.scale_verify import unsettled
from rampart_testkit.soak.scale_workers import SoakWorker, all_traders
from rampart_testkit.soak.stats import SoakStats
from rampart_testkit.soak.stepping import (
    count_reconciliation,
    reconciliation_differences,
    record_crash,
    score,
)

log = structlog.get_logger("rampart_testkit.soak.scale")


def protect(stats: SoakStats, sim: SimulatorHandle, workers: list[SoakWorker]) -> None:
    """Every position of a shard a worker holds (its lease valid) has its stop on the
    exchange."""
    for worker, trader in all_traders(workers):
        if trader.trading and worker.leases is not None and worker.leases.valid(trader.shard):
            stats.protection.check(trader.engine, sim.exchange)


async def _guarded(stats: SoakStats, work: Awaitable[Any], what: str) -> Any:
    try:
        return await work
    except Exception as exc:
        record_crash(stats, log, what, exc)
        return None


async def reconcile_all(
    stats: SoakStats,
    sim: SimulatorHandle,
    workers: Iterable[SoakWorker],
    reason: str,
    check: bool,
) -> None:
    """Reconcile every shard traded; with ``check``, compare its books with the exchange's
    (deferred while an order is unconfirmed)."""
    for worker in workers:
        for trader in list(worker.traders.values()):
            async with worker.locks(trader.shard):
                if not trader.trading or worker.traders.get(trader.shard) is not trader:
                    continue
                report: ReconcileReport | None = await _guarded(
                    stats, trader.reconciler.run(trader.engine, reason=reason), "reconcile"
                )
                count_reconciliation(stats, reason, report, not check)
                if not check:
                    continue
                await sim.idle()
                if unsettled(trader.engine):
                    stats.checks_deferred += 1
                    continue
                held = {t.client_id for t in trader.engine.venue.tracked() if t.local}
                diffs = verify.books_differences(trader.engine, sim.exchange, held)
                score(stats, diffs + reconciliation_differences(report))
                if reason == "final":
                    stats.final_differences.extend(diffs)


async def checkpoint_all(
    stats: SoakStats, workers: list[SoakWorker], account_ids: list[str]
) -> None:
    """Every account held by exactly one worker at the end, and every shard checkpointed."""
    held: dict[str, str] = {}
    for worker, trader in all_traders(workers):
        for account_id in trader.engine.accounts:
            if account_id in held:
                stats.failures.append(f"{account_id} held by {held[account_id]} and {worker.name}")
            held[account_id] = worker.name
        if not await trader.session.checkpoint_off_loop():
            stats.crashes.append(f"the final checkpoint of shard {trader.shard} failed")
    unheld = sorted(set(account_ids) - set(held))
    if unheld:
        stats.failures.append(f"accounts held by no worker at the end: {unheld[:5]}")


async def store_against_exchange(
    stats: SoakStats,
    db: sa.Engine,
    sim: SimulatorHandle,
    account_ids: list[str],
    engines: list[Engine],
) -> None:
    """Lost and duplicated orders and fills (the store against the exchange), and the candles
    the engines recorded a position without its stop."""
    stats.accounting = await asyncio.to_thread(
        scale_verify.account, db, sim.exchange, account_ids, engines
    )
    stats.violations = await asyncio.to_thread(scale_verify.stop_loss_invariants, db)
    stats.orders = stats.accounting.orders_on_exchange
    stats.fills = stats.accounting.fills_on_exchange


__all__ = ["checkpoint_all", "protect", "reconcile_all", "store_against_exchange"]

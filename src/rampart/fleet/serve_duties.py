"""What ``rampart serve`` runs besides its API and bot: the ops lease and the duties under it,
its running totals for a deploy's gates, the command stream's heartbeat and the mirror's
refresh. Each loop runs until ``stop`` and is handed what it uses by the server
(``wiring/serve.py``), which builds them."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Coroutine
from typing import Any

import structlog
from prometheus_client import CollectorRegistry

from rampart.clock import Clock
from rampart.domain.errors import StoreError
from rampart.fleet.mirror import Mirror
from rampart.messaging.commands import HEARTBEAT
from rampart.observability.api_metrics import api_totals
from rampart.rollout.api_gates import SERVER, server_record
from rampart.runtime.health import Health
from rampart.runtime.supervisor import Beat
from rampart.store.leases import OPS, Lease, ShardLeases
from rampart.store.scale_state import write_state

log = structlog.get_logger("rampart.serve")

HEARTBEAT_EVERY_S = 1.0

Duty = Callable[[asyncio.Event, Beat], Coroutine[Any, Any, None]]
"""A part run once in the fleet, by the server holding the ops lease (the scheduler, the
fleet's alerts and uptime): it runs until its event is set."""


async def _wait(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)


async def hold_ops_lease(
    lease_holder: ShardLeases,
    duties: list[Duty],
    stop: asyncio.Event,
    every_s: float,
    held_now: Callable[[bool], None],
) -> None:
    """Hold the ops lease while alive and run ``duties`` under it (renewed every ``every_s``);
    another server takes them over when this one stops renewing. ``held_now`` is told after
    each round whether this server holds it (the outbox sends only then)."""
    running: list[asyncio.Task[None]] = []
    halt = asyncio.Event()
    held: Lease | None = None
    try:
        while not stop.is_set():
            try:
                if held is not None:
                    held = await asyncio.to_thread(lease_holder.renew, held)
                else:
                    held = await asyncio.to_thread(lease_holder.acquire, OPS)
            except StoreError as err:
                log.warning("ops_lease_failed", error=err.message)
                held = None
            held_now(held is not None)
            if held is not None and not running:
                halt = asyncio.Event()
                running = [asyncio.create_task(duty(halt, lambda: None)) for duty in duties]
                log.info("ops_lease_taken", server=lease_holder.owner)
            elif held is None and running:
                halt.set()
                await asyncio.gather(*running, return_exceptions=True)
                running = []
            await _wait(stop, every_s)
    finally:
        halt.set()
        await asyncio.gather(*running, return_exceptions=True)
        held_now(False)
        if held is not None:
            with contextlib.suppress(StoreError):
                await asyncio.to_thread(lease_holder.release, held)


async def report_totals(
    db: Any,
    name: str,
    version: str,
    *,
    health: Health,
    registry: CollectorRegistry,
    clock: Clock,
    stop: asyncio.Event,
    every_s: float,
) -> None:
    """Keep this server's running totals in the store (``server:<name>``) each round: when it
    was ready, what it answered and how fast, for a deploy step's gates on its version."""
    key = SERVER + name
    started = last = clock.now_ms()
    ready_s = 0.0
    while True:  # a last round once stopping: what it answered up to the end is kept
        stopping = stop.is_set()
        await _wait(stop, every_s)
        now = clock.now_ms()
        ok = not stopping and (await health.ready())[0]
        ready_s += (now - last) / 1000 if ok else 0.0
        last = now
        record = server_record(version, started, now, ready_s, api_totals(registry))
        try:
            await asyncio.to_thread(write_state, db, key, record, now)
        except StoreError as err:  # the store away: the gates see the gap as downtime
            log.warning("server_report_failed", error=err.message)
        if stopping:
            return


async def send_heartbeats(nc: Any, clock: Clock, stop: asyncio.Event) -> None:
    """The command stream's heartbeat, by which a worker knows commands can reach it."""
    while not stop.is_set():
        with contextlib.suppress(Exception):  # a NATS outage: the probe says so
            await nc.publish(HEARTBEAT, str(clock.now_ms()).encode())
        await _wait(stop, HEARTBEAT_EVERY_S)


async def refresh_mirror(
    mirror: Mirror, lock: asyncio.Lock, every_s: float, stop: asyncio.Event
) -> None:
    """Load the shards' newest checkpoints into the mirror every ``every_s``."""
    while not stop.is_set():
        await _wait(stop, every_s)
        try:
            async with lock:
                await mirror.refresh()
        except Exception as err:  # the store away: the next round tries again
            log.warning("mirror_refresh_failed", error=f"{type(err).__name__}: {err}")


__all__ = [
    "HEARTBEAT_EVERY_S",
    "Duty",
    "hold_ops_lease",
    "refresh_mirror",
    "report_totals",
    "send_heartbeats",
]

"""The Solana RPC pool's probe in ``rampart run`` (``venue.kind: solana``): a component that asks
every node for its health and slot on an interval, so the pool marks nodes up or down (the
``RpcDown`` alert reads that) and fails back to the primary once it is healthy again."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import structlog

from rampart.clock import Clock
from rampart.domain.errors import RampartError
from rampart.runtime.supervisor import Beat, sleep_unless_stopped

if TYPE_CHECKING:
    from rampart.venues.solana.venue import SolanaVenue

log = structlog.get_logger("rampart.wiring.solana")


class RpcProbe:
    """A component: every ``every_s`` each RPC node is asked for its health and slot, so the
    pool marks nodes up or down (the ``RpcDown`` alert reads that) and fails back to the
    primary once it is healthy again."""

    def __init__(self, venue: SolanaVenue, clock: Clock, every_s: float) -> None:
        self.venue = venue
        self.clock = clock
        self.every_s = every_s

    async def run(self, stop: asyncio.Event, beat: Beat) -> None:
        while not stop.is_set():
            try:
                await self.venue.rpc.probe()
            except RampartError as exc:
                log.warning("rpc_probe_failed", error=exc.message)
            beat()
            if await sleep_unless_stopped(self.clock, self.every_s, stop):
                return


__all__ = ["RpcProbe"]

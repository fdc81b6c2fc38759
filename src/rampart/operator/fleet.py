"""The workers as the operator facade reaches them: every command a front sends in
``rampart serve`` becomes one command on the JetStream command stream, applied by every worker
that owns a shard, each answering with what it did.

Who must answer is read from the shard leases: for a service-wide command (the kill switch),
every worker holding a live lease; for one account's, the worker holding its shard. The kill
switch is also written to ``scale_state`` first, so a worker that is cut off, or takes a shard
later, applies it too (:func:`rampart.fleet.worker_commands.apply_controls`).
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any

import structlog

from rampart.clock import Clock
from rampart.domain.shards import shard_of
from rampart.messaging.commands import CommandSender, FanOut
from rampart.store.leases import lease_table
from rampart.store.scale_state import CONTROLS, write_state

if TYPE_CHECKING:
    from rampart.trading.controls import Controls

log = structlog.get_logger("rampart.operator.fleet")


class Fleet:
    def __init__(
        self,
        db: Any,
        sender: CommandSender,
        clock: Clock,
        *,
        shards: int,
        ack_timeout_s: float,
        on_fan_out: Any = None,
    ) -> None:
        self.db = db
        self.sender = sender
        self.clock = clock
        """Liveness (the leases' clock): the wall clock in production."""
        self.shards = shards
        self.ack_timeout_s = ack_timeout_s
        self.on_fan_out = on_fan_out
        """Told ``(kind, seconds)`` once every expected worker answered (a metric)."""

    def owners(self, account_id: str | None = None) -> set[str]:
        """The workers holding a live lease: on ``account_id``'s shard, or on any shard."""
        now = self.clock.now_ms()
        table = lease_table(self.db)
        wanted = None if account_id is None else shard_of(account_id, self.shards)
        return {
            h.owner
            for shard, h in table.items()
            if h.live(now) and (wanted is None or shard == wanted)
        }

    async def send(
        self, kind: str, payload: dict[str, Any], account_id: str | None = None
    ) -> FanOut:
        expect = await asyncio.to_thread(self.owners, account_id)
        started = time.perf_counter()
        result = await self.sender.send(kind, payload, expect, self.ack_timeout_s)
        if result.complete and self.on_fan_out is not None:
            self.on_fan_out(kind, time.perf_counter() - started)
        return result

    async def kill(
        self, actor: str, reason: str, flatten: bool, since_ms: int = 0, held_by: str = ""
    ) -> FanOut:
        """The service-wide kill switch: kept in the store, then sent to every worker.
        ``since_ms`` and ``held_by``: when and by whom it was first engaged, as the facade's
        controls have it (0, "": now, by ``actor``), which every shard then shows."""
        controls = {
            "kill": True,
            "actor": actor,
            "reason": reason,
            "flatten": flatten,
            "since_ms": since_ms or self.clock.now_ms(),
            "held_by": held_by or actor,
        }
        await asyncio.to_thread(write_state, self.db, CONTROLS, controls, self.clock.now_ms())
        return await self.send("kill", controls)

    async def unkill(self, actor: str, reason: str) -> FanOut:
        controls = {"kill": False, "actor": actor, "reason": reason, "flatten": False}
        await asyncio.to_thread(write_state, self.db, CONTROLS, controls, self.clock.now_ms())
        return await self.send("unkill", controls)


def show_stored_kill(controls: Controls, stored: dict[str, Any] | None) -> None:
    """Bring the facade's controls (``rampart serve``'s mirror) to the kill switch as the store
    has it, newer than a checkpoint written before it: engaged or not, by whom, why and since
    when (a document stored before the since-time was kept: the checkpoint's)."""
    if stored is None:
        return
    holder = stored.get("held_by") or stored.get("actor", "")
    since = int(stored.get("since_ms") or controls.global_since_ms)
    controls.show_kill_switch(
        bool(stored.get("kill")), str(stored.get("reason", "")), str(holder), since
    )


__all__ = ["Fleet", "show_stored_kill"]

"""What a worker does with each command from the command stream (issue 34).

The operator facade in ``rampart serve`` audits an action once and sends it; every worker
applies it to the shards it holds, under its lock, and answers in a few words. A kill switch is
also kept in the store (``scale_state``), so a shard taken over later, by any worker, gets it
too (:func:`apply_controls`). Nothing here audits: the facade did, once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rampart.domain.errors import RampartError
from rampart.messaging.commands import Command

if TYPE_CHECKING:
    from rampart.wiring.shard import ShardTrader
    from rampart.wiring.worker import Worker

KINDS = ("kill", "unkill", "pause", "resume", "profile", "handover")


async def apply_controls(trader: ShardTrader, controls: dict[str, Any] | None) -> None:
    """Bring a shard just taken to the service-wide kill switch as the store has it."""
    if controls is None:
        return
    engine_controls = trader.engine.controls
    actor, reason = str(controls.get("actor", "")), str(controls.get("reason", ""))
    if controls.get("kill") and not engine_controls.global_kill:
        await engine_controls.engage_kill_switch(actor, reason, bool(controls.get("flatten")))
    elif not controls.get("kill") and engine_controls.global_kill:
        await engine_controls.release_kill_switch(actor, reason)


def _owner(worker: Worker, account_id: str) -> ShardTrader | None:
    for trader in worker.traders.values():
        if account_id in trader.engine.accounts:
            return trader
    return None


async def apply_command(worker: Worker, command: Command) -> str:
    """Apply ``command`` to every shard this worker holds; what it did, in a few words."""
    p = command.payload
    actor, reason = str(p.get("actor", "")), str(p.get("reason", ""))
    kind = command.kind
    if kind not in KINDS:
        raise RampartError(f"This worker does not know the command {kind!r}.")
    async with worker.lock:
        traders = list(worker.traders.values())
        if kind == "kill":
            for trader in traders:
                trader.engine.controls.global_kill = True  # entries stop before anything else
            for trader in traders:
                await trader.engine.controls.engage_kill_switch(
                    actor, reason, bool(p.get("flatten"))
                )
            return f"kill switch engaged on {len(traders)} shards"
        if kind == "unkill":
            for trader in traders:
                if trader.engine.controls.global_kill:
                    await trader.engine.controls.release_kill_switch(actor, reason)
            return f"kill switch released on {len(traders)} shards"
        if kind == "handover":
            return "handover is run by the deploy, not by a command"
        account_id = str(p.get("account_id", ""))
        owner = _owner(worker, account_id)
        if owner is None:
            return "not held here"
        controls = owner.engine.controls
        if kind == "pause":
            await controls.pause_account(account_id, actor, reason, bool(p.get("flatten")))
            return f"paused {account_id}"
        if kind == "resume":
            await controls.resume_account(account_id, actor, reason, bool(p.get("lift")))
            return f"resumed {account_id}"
        owner.engine.change_profile(account_id, str(p.get("profile", "")))
        return f"profile of {account_id} is {p.get('profile')}"


__all__ = ["KINDS", "apply_command", "apply_controls"]

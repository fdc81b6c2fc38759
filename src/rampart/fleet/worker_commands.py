"""What a worker does with each command from the command stream.

The operator facade in ``rampart serve`` audits an action once and sends it; every worker
applies it to the shards it holds, each under the shard's lock, and answers in a few words. A
kill switch is also kept in the store (``scale_state``), so a shard taken over later, by any
worker, gets it too (:func:`apply_controls`). Nothing here audits: the facade did, once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from decimal import Decimal, InvalidOperation
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar

from rampart.domain.errors import RampartError
from rampart.fleet.worker_stage import apply_stage
from rampart.messaging.commands import Command
from rampart.operator import engine_actions as actions
from rampart.operator.control import restore_operator_accounts
from rampart.operator.intents import NOT_HELD_BACK, PLACED, intent_of
from rampart.operator.investors import restore_investor_accounts
from rampart.operator.scaled import NOT_HELD

if TYPE_CHECKING:
    from rampart.fleet.shard import ShardTrader
    from rampart.fleet.worker_state import WorkerState

ACCOUNT_KINDS = (
    "pause",
    "resume",
    "profile",
    "capital",
    "close",
    "hold_all",
    "allow",
    "intent",
    "account",
)
"""Commands on one account, applied by the worker holding its shard."""
T = TypeVar("T")

KINDS = ("kill", "unkill", "models", "rollout", "handover", *ACCOUNT_KINDS)


async def apply_controls(trader: ShardTrader, controls: dict[str, Any] | None) -> None:
    """Bring a shard just taken to the service-wide kill switch as the store has it."""
    if controls is None:
        return
    engine_controls = trader.engine.controls
    actor, reason = str(controls.get("actor", "")), str(controls.get("reason", ""))
    if controls.get("kill") and not engine_controls.global_kill:
        # Held by whoever engaged it first, since then: as the facade and every shard show it.
        holder = str(controls.get("held_by") or actor)
        since = int(controls.get("since_ms") or 0) or None
        await engine_controls.engage_kill_switch(
            holder, reason, bool(controls.get("flatten")), since
        )
    elif not controls.get("kill") and engine_controls.global_kill:
        await engine_controls.release_kill_switch(actor, reason)


def _kill(worker: WorkerState, actor: str, reason: str, flatten: bool, since: int | None) -> str:
    """Entries stop on every shard now, without waiting for a lock: a shard trading a slow
    candle holds its lock for seconds, and the kill switch must not queue behind it. Canceling
    the working entries (and flattening) follows, each shard under its lock and the whole
    under the commands' lock, before any later command (the locks serve their waiters in
    turn); a shard taken meanwhile gets the kill from the store."""
    traders = list(worker.traders.values())
    for trader in traders:
        trader.engine.controls.stop_entries_now()

    async def engage() -> None:
        async with worker.locks.commands:
            await on_each(
                worker,
                lambda t: t.engine.controls.engage_kill_switch(actor, reason, flatten, since),
            )

    task = asyncio.create_task(engage(), name="kill")
    worker.background.add(task)
    task.add_done_callback(worker.background.discard)
    return f"kill switch engaged on {len(traders)} shards"


def _owner(worker: WorkerState, account_id: str) -> ShardTrader | None:
    for trader in worker.traders.values():
        if trader.trading and trader.owns(account_id):
            return trader
    return None


async def apply_command(worker: WorkerState, command: Command) -> str:
    """Apply ``command`` to every shard this worker holds; what it did, in a few words."""
    p = command.payload
    actor, reason = str(p.get("actor", "")), str(p.get("reason", ""))
    kind = command.kind
    if kind not in KINDS:
        raise RampartError(f"This worker does not know the command {kind!r}.")
    if kind == "kill":
        since = int(p.get("since_ms") or 0) or None  # the facade's: one since-time everywhere
        return _kill(worker, actor, reason, bool(p.get("flatten")), since)
    async with worker.locks.commands:
        count = len(worker.traders)
        if kind == "unkill":

            async def release(trader: ShardTrader) -> None:
                if trader.engine.controls.global_kill:
                    await trader.engine.controls.release_kill_switch(actor, reason)

            await on_each(worker, release)
            return f"kill switch released on {count} shards"
        if kind == "models":

            async def refresh(trader: ShardTrader) -> None:
                models = trader.session.models
                if models is not None:
                    models.refresh(force=True)

            await on_each(worker, refresh)
            return f"models refreshed on {count} shards"
        if kind == "rollout":
            made = await on_each(worker, partial(apply_stage, worker))
            changed = [a for accounts in made for a in accounts]
            return f"rollout stage applied on {count} shards ({len(changed)} accounts changed)"
        if kind == "handover":
            return "handover is run by the deploy, not by a command"
        account_id = str(p.get("account_id", ""))
        owner = _owner(worker, account_id)
        if owner is None:
            return NOT_HELD
        async with worker.locks(owner.shard):
            if worker.traders.get(owner.shard) is not owner:
                return NOT_HELD  # let go while the command waited for its candle
            return await _on_account(owner, kind, account_id, p, actor, reason)


async def on_each(worker: WorkerState, act: Callable[[ShardTrader], Awaitable[T]]) -> list[T]:
    """``act`` on every shard held, each under its own lock (never on a shard let go while it
    waited for the lock); what each returned."""
    out = []
    for trader in list(worker.traders.values()):
        async with worker.locks(trader.shard):
            if worker.traders.get(trader.shard) is trader:
                out.append(await act(trader))
    return out


async def _on_account(
    owner: ShardTrader, kind: str, account_id: str, p: dict[str, Any], actor: str, reason: str
) -> str:
    session = owner.session
    if kind == "account":
        added = await restore_operator_accounts(session, only=account_id.__eq__)
        added += await restore_investor_accounts(session, only=account_id.__eq__)
        if account_id not in owner.engine.accounts:
            raise RampartError(f"There is no stored account called {account_id!r} to start.")
        return f"started {account_id}" if added else f"{account_id} already runs"
    controls = owner.engine.controls
    if kind == "pause":
        actions.account(session, account_id)
        await controls.pause_account(account_id, actor, reason, bool(p.get("flatten")))
        return f"paused {account_id}"
    if kind == "resume":
        actions.account(session, account_id)
        await controls.resume_account(account_id, actor, reason, bool(p.get("lift")))
        return f"resumed {account_id}"
    if kind == "profile":
        actions.set_profile(session, account_id, str(p.get("profile", "")))
        return f"profile of {account_id} is {p.get('profile')}"
    if kind == "capital":
        try:
            amount = Decimal(str(p.get("amount")))
        except InvalidOperation:
            raise RampartError(f"{p.get('amount')!r} is not an amount.") from None
        delta = actions.set_capital(session, account_id, amount, actor)
        return f"capital of {account_id} moved by {delta}"
    if kind == "close":
        until = p.get("until")
        symbols = [str(s) for s in p.get("symbols", [])]
        end = None if until is None else int(until)
        await actions.close(session, account_id, symbols, end, str(p.get("why", "")))
        await session.checkpoint_off_loop()  # a restart must not forget the hold
        return f"closing {', '.join(symbols)} of {account_id}"
    if kind == "hold_all":
        actions.hold_all(session, account_id, reason)
        return f"{account_id} held from its agent"
    if kind == "allow":
        if not actions.allow(session, account_id, str(p.get("symbol", ""))):
            return NOT_HELD_BACK
        await session.checkpoint_off_loop()
        return f"lifted {p.get('symbol')} of {account_id}"
    try:
        intent = intent_of(p)
    except (KeyError, ValueError, InvalidOperation) as err:
        raise RampartError(f"The intent could not be read: {err}.") from None
    refused = await actions.place(session, intent)
    return refused or PLACED


__all__ = ["ACCOUNT_KINDS", "KINDS", "apply_command", "apply_controls"]

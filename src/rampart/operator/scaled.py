"""The operator facade when the accounts are traded by workers (``rampart serve``, issue 34).

The same :class:`~rampart.operator.control.Operator`, whose reads come from a mirror of the
shards' checkpoints and whose actions on the trading accounts go to the workers: each is
checked against the mirror first (an unknown account, nothing to resume: the same sentence
``rampart run`` gives, and nothing is sent), audited once here, then sent on the command stream
to every worker that owns a shard it concerns. The answer comes when every one of them has
applied it, or after ``scale.ack_timeout_s`` naming those that have not: "kill is on the
command stream, but w2 has not applied it yet (2 of 3 have)". The mirror shows the change at
once; the workers' checkpoints carry it from then on.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from rampart.domain.errors import RampartError
from rampart.operator.control import Operator
from rampart.operator.errors import Conflict
from rampart.operator.ops import ModelAction
from rampart.operator.results import (
    STOPPED,
    AccountActionResult,
    KillSwitchResult,
    _clean_reason,
    _plural,
)

if TYPE_CHECKING:
    from rampart.domain.accounts import AccountSpec
    from rampart.messaging.commands import FanOut
    from rampart.operator.fleet import Fleet
    from rampart.operator.session import Session


NOT_HELD = "not held here"
"""A worker's answer to an account's command for a shard it does not hold."""
REFUSED = "refused: "
"""How a worker's answer starts when it refused the command (its sentence follows)."""


def _told(fan: FanOut) -> str:
    if fan.complete:
        workers = len(fan.answers)
        return f"applied by {_plural(workers, 'worker')}" if workers else "no worker holds it"
    return fan.sentence().rstrip(".")


class ScaledOperator(Operator):
    def __init__(
        self, session: Session, lock: asyncio.Lock, *, fleet: Fleet, **kwargs: Any
    ) -> None:
        super().__init__(session, lock, **kwargs)
        self.fleet = fleet

    @property
    def forwarding(self) -> bool:
        return True

    async def forward(self, kind: str, payload: dict[str, Any], account_id: str) -> str:
        """Send the action to the worker holding ``account_id``'s shard; its answer.

        A worker's refusal is raised as its sentence (nothing changed). With no worker holding
        the shard nothing is sent to wait for, so the action is refused: a shard between owners
        is taken within a lease, and the investor can try again. An owner that has not answered
        in ``scale.ack_timeout_s`` still reads the command from the stream: the answer says so.
        """
        fan = await self.fleet.send(kind, payload, account_id)
        said = [a for worker, a in sorted(fan.answers.items()) if a != NOT_HELD]
        for answer in said:
            if answer.startswith(REFUSED):
                raise RampartError(answer.removeprefix(REFUSED))
        if said:
            return said[0]
        if fan.missing:
            return fan.sentence()
        raise Conflict(
            f"No worker holds account {account_id} right now (its shard is changing hands), so "
            "nothing was changed; try again in a few seconds."
        )

    async def add_account(self, spec: AccountSpec) -> None:
        """Start ``spec``: shown by the mirror at once and stored, then taken up by the worker
        holding its shard, which reads it from the store (call under the lock)."""
        await super().add_account(spec)
        writer = self.session.writer
        if writer is not None:
            await asyncio.to_thread(writer.flush)  # the worker reads the account's row
        await self.forward("account", {"account_id": spec.account_id}, spec.account_id)

    async def stop_engine(
        self, account_id: str, actor: str, reason: str = "stopped by the operator"
    ) -> AccountActionResult:
        why = _clean_reason(reason)
        acct = self._account(account_id)
        if acct.paused and acct.pause_reason.startswith(STOPPED):
            raise Conflict(f"Engine {account_id} is already stopped.")
        paused = f"{STOPPED}: {why}"
        payload = {"account_id": account_id, "actor": actor, "reason": paused, "flatten": True}
        fan = await self.fleet.send("pause", payload, account_id)
        async with self.lock:
            acct.paused, acct.pause_reason = True, paused
            self.engine.controls.paused_by[account_id] = actor
            summary = self.summary(account_id)
        await self._audit(actor, "operator.engine_stop", account_id, reason=why)
        text = (
            f"Engine {account_id} stopped by {actor}; its entry orders being canceled and its "
            f"positions closed at market; {_told(fan)}."
        )
        return AccountActionResult(summary, 0, 0, text)

    async def promote_model(
        self, models_dir: Any, version: str, actor: str, reason: str = ""
    ) -> ModelAction:
        done = await super().promote_model(models_dir, version, actor, reason)
        return await self._models_told(done)

    async def rollback_model(self, models_dir: Any, actor: str, reason: str = "") -> ModelAction:
        done = await super().rollback_model(models_dir, actor, reason)
        return await self._models_told(done)

    async def _models_told(self, done: ModelAction) -> ModelAction:
        """Every worker switches to the registry's production model now, not at its next poll
        (the registry is in the store: a worker that misses this still switches then)."""
        fan = await self.fleet.send("models", {"production": done.production})
        return replace(done, message=f"{done.message.rstrip('.')}; {_told(fan)}.")

    async def engage_kill_switch(
        self, actor: str, reason: str, flatten: bool = False
    ) -> KillSwitchResult:
        reason = _clean_reason(reason)
        controls = self.engine.controls
        was_engaged = controls.global_kill
        fan = await self.fleet.kill(actor, reason, flatten)
        async with self.lock:
            accounts = list(self.engine.accounts.values())
            entries = self._open_entries(accounts)
            positions = self._positions(accounts) if flatten else set()
            controls.global_kill = True
            controls.global_reason = reason
            controls.global_actor = controls.global_actor or actor
        await self._audit(actor, "operator.kill", "global", reason=reason, flatten=flatten)
        text = (
            f"Kill switch engaged by {actor}: no new entries on {_plural(len(accounts), 'account')}"
            f"; {_plural(len(entries), 'working entry order')} being canceled"
        )
        if flatten:
            text += f"; {_plural(len(positions), 'position')} being closed at market"
        return KillSwitchResult(
            engaged=True,
            changed=not was_engaged,
            reason=reason,
            actor=actor,
            flatten=flatten,
            accounts=len(accounts),
            entries_canceled=0,
            positions_flattened=0,
            message=f"{text}; {_told(fan)}.",
        )

    async def release_kill_switch(self, actor: str, reason: str) -> KillSwitchResult:
        reason = _clean_reason(reason)
        controls = self.engine.controls
        if not controls.global_kill:
            raise Conflict("The kill switch is not engaged; there is nothing to release.")
        fan = await self.fleet.unkill(actor, reason)
        async with self.lock:
            controls.global_kill = False
            controls.global_reason = controls.global_actor = ""
            count = len(self.engine.accounts)
        await self._audit(actor, "operator.unkill", "global", reason=reason)
        return KillSwitchResult(
            engaged=False,
            changed=True,
            reason=reason,
            actor=actor,
            flatten=False,
            accounts=count,
            entries_canceled=0,
            positions_flattened=0,
            message=f"Kill switch released by {actor}: accounts may open positions again; "
            f"{_told(fan)}.",
        )

    async def pause_account(
        self, account_id: str, actor: str, reason: str, flatten: bool = False
    ) -> AccountActionResult:
        reason = _clean_reason(reason)
        acct = self._account(account_id)  # an unknown account: refused here, nothing sent
        payload = {"account_id": account_id, "actor": actor, "reason": reason, "flatten": flatten}
        fan = await self.fleet.send("pause", payload, account_id)
        async with self.lock:
            entries = self._open_entries([acct])
            acct.paused, acct.pause_reason = True, reason
            self.engine.controls.paused_by[account_id] = actor
            summary = self.summary(account_id)
        await self._audit(actor, "operator.pause", account_id, reason=reason, flatten=flatten)
        text = (
            f"Account {account_id} paused by {actor}; "
            f"{_plural(len(entries), 'entry order')} being canceled"
        )
        if flatten:
            text += f"; its {_plural(len(acct.ledger.positions), 'position')} being closed"
        return AccountActionResult(summary, 0, 0, f"{text}; {_told(fan)}.")

    async def resume_account(
        self,
        account_id: str,
        actor: str,
        reason: str,
        lift_breakers: bool = False,
        *,
        owner: bool = False,
    ) -> AccountActionResult:
        reason = _clean_reason(reason)
        acct = self._account(account_id)
        paused_by = self.engine.controls.paused_by.get(account_id, actor)
        if owner and acct.paused and paused_by not in (actor, "system"):
            raise Conflict(
                f"Your account was paused by the operator: {acct.pause_reason.rstrip('.')}. "
                "Only the operator can resume it."
            )
        if not acct.paused and not (lift_breakers and acct.state.value != "active"):
            raise Conflict(f"Account {account_id} is not paused; there is nothing to resume.")
        payload = {
            "account_id": account_id,
            "actor": actor,
            "reason": reason,
            "lift": lift_breakers,
        }
        fan = await self.fleet.send("resume", payload, account_id)
        async with self.lock:
            acct.paused, acct.pause_reason = False, ""
            self.engine.controls.paused_by.pop(account_id, None)
            summary = self.summary(account_id)
        await self._audit(actor, "operator.resume", account_id, reason=reason, lift=lift_breakers)
        return AccountActionResult(
            summary, 0, 0, f"Account {account_id} resumed by {actor}; {_told(fan)}."
        )


__all__ = ["NOT_HELD", "REFUSED", "ScaledOperator"]

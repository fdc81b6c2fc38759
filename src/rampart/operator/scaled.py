"""The operator facade when the accounts are traded by workers (``rampart serve``).

The same :class:`~rampart.operator.control.Operator`, whose reads come from a mirror of the
shards' checkpoints and whose actions on the trading accounts go to the workers: each is the
very code ``rampart run`` runs (:mod:`rampart.operator.control_actions`: checked against the
mirror first, an unknown account or nothing to resume refused with the same sentence and
nothing sent; recorded by the mirror's controls with the same since-time and events; audited
once here), sent on the command stream (:meth:`ScaledOperator._reach`) to every worker that
owns a shard it concerns. The answer comes when every one of them has
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
from rampart.operator.results import _plural

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
        workers = sum(1 for answer in fan.answers.values() if answer != NOT_HELD)
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

    async def _reach(
        self, kind: str, payload: dict[str, Any], account_id: str | None = None
    ) -> str:
        """The control actions (:mod:`rampart.operator.control_actions`) on the command stream:
        the kill switch also kept in the store for a worker that takes a shard later; an
        account's action to the worker holding its shard, refused here with that worker's
        sentence (or with no worker holding it) before the facade records it."""
        fleet = self.fleet
        if kind == "kill":
            actor, reason = payload["actor"], payload["reason"]
            held_by, since = self._engine.controls.kill_switch_by(actor)
            fan = await fleet.kill(actor, reason, payload["flatten"], since, held_by)
        elif kind == "unkill":
            fan = await fleet.unkill(payload["actor"], payload["reason"])
        else:
            fan = await fleet.send(kind, payload, account_id)
            if account_id is not None:
                self._answer(fan, account_id)
        return _told(fan)

    @staticmethod
    def _answer(fan: FanOut, account_id: str) -> str:
        """The answer of the worker holding ``account_id``'s shard.

        A worker's refusal is raised as its sentence (nothing changed). With no worker holding
        the shard nothing is sent to wait for, so the action is refused: a shard between owners
        is taken within a lease, and the investor can try again. An owner that has not answered
        in ``scale.ack_timeout_s`` still reads the command from the stream: the answer says so.
        """
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

    async def forward(self, kind: str, payload: dict[str, Any], account_id: str) -> str:
        """Send the action to the worker holding ``account_id``'s shard; its answer (see
        :meth:`_answer`)."""
        return self._answer(await self.fleet.send(kind, payload, account_id), account_id)

    async def add_account(self, spec: AccountSpec) -> None:
        """Start ``spec``: shown by the mirror at once and stored, then taken up by the worker
        holding its shard, which reads it from the store (call under the lock)."""
        await super().add_account(spec)
        writer = self._session.writer
        if writer is not None:
            await asyncio.to_thread(writer.flush)  # the worker reads the account's row
        await self.forward("account", {"account_id": spec.account_id}, spec.account_id)

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


__all__ = ["NOT_HELD", "REFUSED", "ScaledOperator"]

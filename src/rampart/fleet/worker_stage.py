"""The rollout stage on a worker's shards.

The stage lives in the store (``rollout_state``); past one machine the server holding the ops
lease evaluates its gates and moves it, and then tells every worker (a ``rollout`` command) to
bring the shards it trades inside it, as ``rampart run``'s controller does with its own engine:
accounts whose owner, profile, capital or symbols the stage no longer allows close only, those
it allows again are released. A shard taken later gets the stage when it is taken. The
investors it limits are told through the worker's notices (sent by the server).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rampart.notices.outbox import OutboxMessenger
from rampart.rollout.controller import RolloutController
from rampart.rollout.enforce import Affected
from rampart.store.queries import list_accounts

if TYPE_CHECKING:
    from rampart.fleet.shard import ShardTrader
    from rampart.fleet.worker_state import WorkerState


async def apply_stage(worker: WorkerState, trader: ShardTrader) -> list[Affected]:
    """Bring ``trader``'s accounts inside the stored stage; what changed for whom. The caller
    holds the shard's lock (the controller takes a lock of its own)."""
    notices = worker.notices
    told = None if notices is None else OutboxMessenger(notices, lambda: None)
    controller = RolloutController(
        worker.settings.rollout,
        worker.db,
        worker.ops_clock,
        engine=trader.engine,
        messenger=lambda: told,
        everyone=lambda: [r.spec for r in list_accounts(worker.db)],
    )
    return await controller.sync()


__all__ = ["apply_stage"]

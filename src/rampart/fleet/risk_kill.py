"""A kill switch the risk engaged on one shard is the service's (plan 004: "Position
Loss > $50 → Activate kill switch"): a worker whose shard engine engaged it (a rollout stage's
position-loss kill, or ``risk.kill_on_position_loss_scope: service``) keeps it in the store and
sends it to every worker, as an operator's ``/kill`` through the facade is; the release stays
the operator's.

The store decides whether to send: a kill switch already engaged there (the command coming
back to this worker's other shards, the other workers applying it, or an operator's) is not
sent again, so one loss sends one command.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import structlog

from rampart.domain.events import Event, KillSwitchChanged
from rampart.messaging.commands import CommandSender
from rampart.messaging.nats_link import command_stream
from rampart.operator.fleet import Fleet
from rampart.store.scale_state import CONTROLS, read_state
from rampart.trading.bus import Topic

if TYPE_CHECKING:
    from rampart.fleet.shard import ShardTrader
    from rampart.fleet.worker_state import WorkerState

log = structlog.get_logger("rampart.risk_kill")

RISK = "risk"
"""Who engages the kill switch for a position's loss (``trading.guard``)."""


def relay_risk_kill(worker: WorkerState, trader: ShardTrader) -> None:
    """Send the kill switch the risk engages on ``trader``'s engine to the whole fleet."""

    def heard(event: Event) -> None:
        if not (
            isinstance(event, KillSwitchChanged)
            and event.scope == "global"
            and event.engaged
            and event.actor == RISK
        ):
            return
        task = asyncio.get_running_loop().create_task(_relay(worker, event), name="risk-kill")
        worker.background.add(task)
        task.add_done_callback(worker.background.discard)

    trader.session.bus.subscribe(heard, topics=(Topic.ACCOUNTS,), name="risk-kill-relay")


async def _relay(worker: WorkerState, event: KillSwitchChanged) -> None:
    stored = await asyncio.to_thread(read_state, worker.db, CONTROLS)
    if stored is not None and stored.get("kill"):
        return  # already the service's
    if worker.nc is None or worker.commands is None:
        return  # not open: nothing to reach (a shard is only traded by an open worker)
    replicas = worker.scale.replicas
    recreate = lambda: command_stream(worker.nc, replicas)  # noqa: E731 - a store lost
    sender = CommandSender(worker.nc, worker.commands, worker.ops_clock, recreate)
    fleet = Fleet(
        worker.db,
        sender,
        worker.ops_clock,
        shards=worker.scale.shards,
        ack_timeout_s=worker.scale.ack_timeout_s,
    )
    fan = await fleet.kill(RISK, event.reason, event.flatten, since_ms=event.ts)
    log.error("risk_kill_sent", worker=worker.name, reason=event.reason, answered=fan.sentence())

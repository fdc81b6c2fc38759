"""What ``rampart serve`` shows: every account as the workers' shard checkpoints have it.

The mirror is an engine that never trades: it holds every account (configured, or started by
an operator or an investor) and, every ``scale.mirror_every_s``, loads the newest checkpoint of
each shard. The API, the panel and the bot read it through the operator facade as they read
``rampart run``'s engine, so what they show is current to the workers' last checkpoints
(``store.checkpoint_every`` candles). It writes nothing but the facade's audit entries.
"""

from __future__ import annotations

import asyncio

import structlog

from rampart.domain.shards import shard_of
from rampart.fleet.shard import checkpoint_name
from rampart.loops.session import EngineSession
from rampart.operator.control import restore_operator_accounts
from rampart.operator.fleet import show_stored_kill
from rampart.operator.investors import restore_investor_accounts
from rampart.store.queries import load_checkpoint
from rampart.store.scale_state import CONTROLS, read_state

log = structlog.get_logger("rampart.serve.mirror")


class Mirror:
    def __init__(self, session: EngineSession, shards: int) -> None:
        self.session = session
        """Every account on a paper venue that never writes a checkpoint: built by the root
        (``wiring/fleet_parts.py``, ``mirror_session``)."""
        self.shards = shards
        self.loaded_ms: dict[int, int] = {}
        """Each shard's checkpoint time as last loaded (absent: none yet)."""

    async def open(self) -> None:
        await self.session.open()
        writer = self.session.writer
        if writer is not None:
            # The workers store what their engines do; what the facade's actions publish on the
            # mirror's bus (the kill switch, a pause) is shown, never stored twice.
            self.session.bus.unsubscribe(writer)
        self.session.finish_resume()  # nothing of its own to resume: it is a reader
        await self.refresh()

    async def refresh(self) -> int:
        """Add accounts started since, load each shard's newest checkpoint; how many loaded."""
        session = self.session
        await restore_operator_accounts(session)
        await restore_investor_accounts(session)
        loaded = 0
        for shard in range(self.shards):
            found = await asyncio.to_thread(load_checkpoint, session.db, checkpoint_name(shard))
            if found is None or self.loaded_ms.get(shard) == found[0]:
                continue
            ts, snapshot = found
            # The shard's venue state is its own (a paper venue's books): the mirror's venue
            # stays empty, it sends nothing.
            snapshot = {k: v for k, v in snapshot.items() if k != "venue"}
            session.engine.load_snapshot(snapshot)
            self.loaded_ms[shard] = ts
            loaded += 1
        # The kill switch as the store has it: newer than a checkpoint written before it.
        controls = await asyncio.to_thread(read_state, session.db, CONTROLS)
        show_stored_kill(session.engine.controls, controls)
        return loaded

    def loaded_at(self, account_id: str) -> int | None:
        """Business time of the checkpoint the account's state was last loaded from (None: its
        shard's none yet)."""
        return self.loaded_ms.get(shard_of(account_id, self.shards))

    @property
    def newest_ms(self) -> int | None:
        return max(self.loaded_ms.values()) if self.loaded_ms else None

    def close(self) -> None:
        self.session.discard()


__all__ = ["Mirror"]

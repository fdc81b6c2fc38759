"""``rampart serve``'s readiness says whether the fleet trades: not ready while
``TradingStopped`` is open (no shard of the fleet traded a new candle for two candle periods).

Read from the store's incidents, so every server says it, not only the one holding the ops
lease that evaluates the rule. A store that cannot be read says nothing here: the database
check already fails then.
"""

from __future__ import annotations

import asyncio
from typing import Any

import structlog

from rampart.fleet.alerts import TRADING_STOPPED
from rampart.observability.incidents import active_incidents
from rampart.runtime.health import Check, Probe

log = structlog.get_logger("rampart.fleet.trading")

NAME = "trading"


def trading_probe(db: Any) -> Probe:
    """Not ready while a ``TradingStopped`` incident is open."""

    async def probe() -> Check:
        try:
            found = await asyncio.to_thread(active_incidents, db)
        except Exception as err:  # the database check says the store is away
            log.debug("trading_probe_unread", error=type(err).__name__)
            return Check(NAME, True, "not known while the store cannot be read")
        stopped = [i for i in found if i.rule == TRADING_STOPPED]
        if stopped:
            return Check(NAME, False, f"nothing trades: {stopped[0].summary}")
        return Check(NAME, True, "no TradingStopped incident is open")

    return probe


__all__ = ["NAME", "trading_probe"]

"""The scale soak's worker faults, when each comes, and what each left behind.

- **crash**: a worker stops without handing anything back (its tasks cancelled, its connections
  closed, its shards' engines thrown away unsaved); the others take its shards once its leases
  have run out, and a replacement worker starts under a new name, as a supervisor would.
- **pause**: a worker stops renewing and trading (its lock held, no lease round) past its lease,
  then resumes. The work it had in hand must be refused: a checkpoint (the fence in the store),
  an entry and the cancel of a resting stop-loss (the fenced venue, on its own clock); then its
  next round learns the shards are gone.
- **nats_restart**: the NATS server is stopped and started again on the same port and store;
  every worker must receive the next candles (its ordered consumer reset by the client).
- **db_drop**: every connection to PostgreSQL is cut at the relay for a candle (less than a
  lease) and then let through again (not on SQLite: there is no connection to drop, and the
  report says so).
- **handover**: a worker stops cleanly (checkpoint, then release) right after the first of its
  shards has traded the step's first candle, so the others are handed over before they trade
  it, and a replacement joins; the others take the released shards at their next round
  without waiting for a lease to run out.

The plan is seeded: each kind comes once in every round of kinds, in a shuffled order, with
quiet candles between episodes for the takeovers and the checks of the books.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from collections.abc import Awaitable, Mapping
from dataclasses import dataclass, field
from typing import Any

from rampart.domain.errors import ConfigError, VenueError
from rampart.domain.orders import Order, OrderRole, OrderType, Side
from rampart.domain.shards import Holder
from rampart.fleet.fenced_venue import FENCED
from rampart.trading.reconcile.books import UNSETTLED
from rampart_testkit.nats import NatsServer
from rampart_testkit.soak.scale_measure import ScaleTimings

CRASH = "crash"
PAUSE = "pause"
NATS_RESTART = "nats_restart"
DB_DROP = "db_drop"
HANDOVER = "handover"
SCALE_KINDS = (CRASH, PAUSE, NATS_RESTART, DB_DROP, HANDOVER)
RECONNECT_WITHIN_S = 60.0
"""Only so that a broken run fails instead of hanging."""
SQLITE_SKIP = "not on SQLite, which has no connection to drop; --store-url takes a PostgreSQL URL"


def parse_scale_faults(text: str) -> tuple[str, ...]:
    """``all``, ``none`` or a comma list of :data:`SCALE_KINDS`."""
    text = (text or "").strip()
    if text == "all":
        return SCALE_KINDS
    if text == "none":
        return ()
    kinds = tuple(dict.fromkeys(k.strip() for k in text.split(",") if k.strip()))
    unknown = [k for k in kinds if k not in SCALE_KINDS]
    if unknown or not kinds:
        raise ConfigError(
            f"The scale soak's faults are all, none or a comma list of {', '.join(SCALE_KINDS)};"
            f" not {text!r}."
        )
    return kinds


class ScalePlan:
    """Which fault starts at which step: the first after ``first`` steps, then one every
    ``gap`` steps, the kinds in shuffled rounds (every kind once per round), none in the last
    ``tail`` steps (the books settle and are checked)."""

    def __init__(
        self,
        kinds: tuple[str, ...],
        total: int,
        rng: random.Random,
        gap: int,
        first: int,
        tail: int,
    ) -> None:
        self.starts: dict[int, str] = {}
        queue: list[str] = []
        step = first
        while kinds and step < total - tail:
            if not queue:
                queue = list(kinds)
                rng.shuffle(queue)
            self.starts[step] = queue.pop()
            step += gap
        self.last = max(self.starts, default=-1)

    def due(self, step: int) -> str | None:
        return self.starts.get(step)

    def planned(self) -> Counter[str]:
        return Counter(self.starts.values())


@dataclass
class ScaleCounts:
    """What the worker faults did, and what they left behind."""

    injected: Counter[str] = field(default_factory=Counter)
    skipped: dict[str, str] = field(default_factory=dict)
    """Kinds asked for but not injected, with why."""
    takeovers: int = 0
    """Shards a worker took while another still held them on the table (its lease run out)."""
    handovers: int = 0
    """Shards taken after their owner released them (a clean handover or a rebalance)."""
    fenced_writes: int = 0
    fenced_orders: int = 0
    late_writes_saved: int = 0
    """Checkpoints of a paused worker the store took after its lease ran out (must be 0)."""
    late_orders_sent: int = 0
    """Orders or cancels of a paused worker that reached the exchange (must be 0)."""
    late_cancels_tried: int = 0
    handed_mid_candle: int = 0
    """Shards a clean handover moved before their worker had traded the candle going round
    (the next owner's to trade or skip, never twice)."""
    handed_after_candle: int = 0
    processes: bool = False
    """The workers were processes (``--worker-processes``)."""
    dropped_on_waking: int = 0
    """Shards a paused worker process dropped when it woke (``rampart_shards_lost_total``)."""
    woke_and_dropped: int = 0
    """Paused worker processes seen dropping the shards taken from them once woken."""
    workers_started: int = 0
    replacements: int = 0
    store_errors: int = 0
    """Lease rounds refused by the store (during a connection drop)."""
    nats_resumed: int = 0
    """NATS restarts after which every worker received the next candle."""
    stuck: list[str] = field(default_factory=list)
    """Workers that did not receive a candle within the hang guard (a failure)."""
    timings: ScaleTimings = field(default_factory=ScaleTimings)
    """Failover per fault, command fan-out, the worker processes' memory."""
    moved_after: dict[str, int] = field(default_factory=dict)
    """For each crash and pause, the candles until its shards were all held by others."""
    not_moved: list[str] = field(default_factory=list)

    @property
    def failures(self) -> list[str]:
        out = list(self.stuck) + list(self.not_moved)
        if self.late_writes_saved:
            out.append(f"{self.late_writes_saved} late writes of a paused worker were saved")
        if self.late_orders_sent:
            out.append(f"{self.late_orders_sent} late orders of a paused worker were sent")
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "injected": dict(self.injected),
            "skipped": dict(self.skipped),
            "takeovers": self.takeovers,
            "handovers": self.handovers,
            "fenced_refusals": {"writes": self.fenced_writes, "orders": self.fenced_orders},
            "late_writes_saved": self.late_writes_saved,
            "late_orders_sent": self.late_orders_sent,
            "late_cancels_tried": self.late_cancels_tried,
            "handover_shards": {
                "mid_candle": self.handed_mid_candle,
                "after_the_candle": self.handed_after_candle,
            },
            "dropped_on_waking": self.dropped_on_waking,
            "woke_and_dropped": self.woke_and_dropped,
            "workers_started": self.workers_started,
            "replacements": self.replacements,
            "store_errors": self.store_errors,
            "nats_resumed": self.nats_resumed,
            "candles_until_moved": dict(self.moved_after),
            "failures": self.failures[:10],
        }


Moving = list[tuple[str, set[int], int]]
"""Crashed or paused workers' shards not yet held by others: (episode, shards, step)."""


def watch_moves(
    moving: Moving,
    table: Mapping[int, Holder],
    now_ms: int,
    running: set[str],
    step: int,
    limit: int,
    counts: ScaleCounts,
) -> Moving:
    """The episodes whose shards are not all held by running workers yet; the others are
    counted as moved (after how many candles), or as not moved once ``limit`` candles passed."""
    still: Moving = []
    for label, shards, began in moving:
        if all(table[s].live(now_ms) and table[s].owner in running for s in shards):
            counts.moved_after[label] = step - began
        elif step - began > limit:
            counts.not_moved.append(f"{label}: shards {sorted(shards)} not taken over")
        else:
            still.append((label, shards, began))
    return still


async def late_orders(trader: Any, counts: ScaleCounts) -> None:
    """What a paused worker had in hand for a shard it no longer holds: an entry, and the
    cancel of a resting stop-loss (sent, it would leave a position without its stop). Each
    must be refused before it leaves the process; one that reaches the exchange is counted
    (and the store check finds it there, unbooked)."""
    accounts = list(trader.engine.accounts.values())
    if not accounts:
        return
    acct = accounts[0]
    symbol = acct.spec.symbols[0]
    entry = Order(
        client_id=acct.next_client_id(OrderRole.ENTRY),
        account_id=acct.account_id,
        symbol=symbol,
        side=Side.BUY,
        type=OrderType.MARKET,
        qty=trader.engine.venue.instrument(symbol).min_qty,
        role=OrderRole.ENTRY,
    )
    await _late(trader.engine.venue.submit(entry), counts)
    for acct in accounts:
        for order in list(acct.orders.values()):
            if order.role is OrderRole.STOP_LOSS and order.status not in UNSETTLED:
                counts.late_cancels_tried += 1
                await _late(trader.engine.venue.cancel(acct.account_id, order.client_id), counts)
                return


def tally_handover(
    handed: Mapping[int, Mapping[str, int]], target: Mapping[str, int], counts: ScaleCounts
) -> None:
    """Shards a clean handover moved, by whether they had traded the candle going round
    (``handed``: each shard's last traded close per symbol; ``target``: the candle's)."""
    for seen in handed.values():
        if all(seen.get(s, 0) >= ts for s, ts in target.items()):
            counts.handed_after_candle += 1
        else:
            counts.handed_mid_candle += 1


async def restart_nats(nats: NatsServer, connections: list[Any], counts: ScaleCounts) -> None:
    """Stop NATS and start it again (same port, same store); count the restart resumed once
    every connection is back (a bounded wait on that, or a stuck connection counted)."""
    await asyncio.to_thread(nats.restart)
    deadline = time.monotonic() + RECONNECT_WITHIN_S
    while not all(nc.is_connected for nc in connections):
        if time.monotonic() > deadline:
            counts.stuck.append("a NATS connection did not come back after a restart")
            return
        await asyncio.sleep(0.05)  # the clients reconnect on their own timers
    counts.nats_resumed += 1


async def _late(sent: Awaitable[None], counts: ScaleCounts) -> None:
    try:
        await sent
    except VenueError as err:
        if err.code == FENCED:
            return
    counts.late_orders_sent += 1


__all__ = [
    "CRASH",
    "DB_DROP",
    "HANDOVER",
    "NATS_RESTART",
    "PAUSE",
    "SCALE_KINDS",
    "SQLITE_SKIP",
    "ScaleCounts",
    "ScalePlan",
    "late_orders",
    "parse_scale_faults",
    "restart_nats",
    "tally_handover",
    "watch_moves",
]

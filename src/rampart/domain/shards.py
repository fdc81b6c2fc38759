"""Which worker trades which accounts when several share the work (issue 34).

Accounts are spread over a fixed number of shards by a stable hash of the account id (the same
in every process and every run, unlike Python's salted ``hash``); a worker trades the accounts
of the shards it holds a lease on. :func:`plan` is what a worker does at each renewal, from the
lease table as it reads it: take free or expired shards up to its fair share, give back what it
holds above it, so that shards spread evenly as workers come and go. Pure: the store keeps the
leases (:mod:`rampart.store.leases`), this only decides.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

FREE = ""
"""The owner of a shard nobody holds."""


def shard_of(account_id: str, shards: int) -> int:
    """The shard ``account_id`` belongs to, out of ``shards``: stable across processes."""
    if shards < 1:
        raise ValueError("there is at least one shard")
    digest = hashlib.blake2b(account_id.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") % shards


@dataclass(frozen=True, slots=True)
class Holder:
    """One row of the lease table as read: who holds the shard, and until when."""

    owner: str
    token: int
    expires_ms: int

    def live(self, now_ms: int) -> bool:
        return self.owner != FREE and self.expires_ms > now_ms


@dataclass(frozen=True, slots=True)
class Plan:
    take: tuple[int, ...]
    give_back: tuple[int, ...]
    share: int
    """How many shards this worker should hold once the plan is carried out."""


def plan(table: Mapping[int, Holder], me: str, now_ms: int, workers: Iterable[str] = ()) -> Plan:
    """What worker ``me`` should take and give back, given every shard's holder and the
    workers seen alive (``workers``; those holding a live lease count too, and so does ``me``).

    The fair share is the shard count over the live workers, rounded up, so no shard is left
    over; a worker holding more gives back its highest-numbered shards, which others then take
    once it has released them. Shards held by live workers are never taken.
    """
    alive = {h.owner for h in table.values() if h.live(now_ms)} | set(workers) | {me}
    share = math.ceil(len(table) / len(alive)) if table else 0
    mine = sorted(s for s, h in table.items() if h.owner == me and h.live(now_ms))
    free = sorted(s for s, h in table.items() if not h.live(now_ms))
    if len(mine) > share:
        return Plan((), tuple(mine[share:]), share)
    return Plan(tuple(free[: share - len(mine)]), (), share)


__all__ = ["FREE", "Holder", "Plan", "plan", "shard_of"]

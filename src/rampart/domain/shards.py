"""Which worker trades which accounts when several share the work.

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
from collections.abc import Collection, Iterable, Mapping
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


def plan(
    table: Mapping[int, Holder],
    me: str,
    now_ms: int,
    workers: Iterable[str] = (),
    eligible: Collection[int] | None = None,
    *,
    grace_ms: int | None = None,
    free_since: Mapping[int, int] | None = None,
    free_grace_ms: int | None = None,
    rebalance: bool = True,
) -> Plan:
    """What worker ``me`` should take and give back, given every shard's holder and the
    workers seen alive (``workers``; those holding a live lease count too, and so does ``me``).

    The fair share is the shard count over the live workers, rounded up, so no shard is left
    over; a worker holding more gives back its highest-numbered shards, which others then take
    once it has released them. Shards held by live workers are never taken.

    ``grace_ms``: a shard whose holder's lease ran out that long ago is taken by this worker
    even at or above its share; a free one (released, or never held) once it has been free
    ``free_grace_ms`` since ``free_since`` (when this worker first saw it free; default:
    ``grace_ms``). A worker below its share takes at once, so it gets the first chance; the
    grace only decides when the others stop waiting for it. Without this a worker counted in
    the share but not taking (still reading the market, or wedged) left shards unheld for
    minutes. Above the share it takes at most one a round, so that the others spread over
    the workers' next rounds. None: never above the share. The free grace is the longer:
    workers started together are still reading the market, and the first ready one taking
    everything would hand most of it back, one takeover at a time. Above the share a worker
    gives back only what its live peers have room for (fewer than their share), and only with
    ``rebalance`` (the caller turns it off for a while when a shard it gave back found no
    taker).

    ``eligible``: the shards this worker's version may hold during a blue-green deploy (None:
    every shard), shared with ``workers``, which are then the live workers of its version
    only. It gives back every shard it holds outside them (a deploy step moves them), and its
    share is of the eligible shards.
    """
    if eligible is None:
        alive = {h.owner for h in table.values() if h.live(now_ms)} | set(workers) | {me}
        pool = set(table)
    else:
        alive = set(workers) | {me}
        pool = set(eligible) & set(table)
    share = math.ceil(len(pool) / len(alive))  # alive holds ``me``: never empty
    held = sorted(s for s, h in table.items() if h.owner == me and h.live(now_ms))
    outside = tuple(s for s in held if s not in pool)
    mine = [s for s in held if s in pool]
    free = sorted(s for s in pool if not table[s].live(now_ms))
    if grace_ms is None:
        # Above the share there is nothing to take and the rest goes back; below, nothing goes
        # back.
        return Plan(tuple(free[: max(share - len(mine), 0)]), outside + tuple(mine[share:]), share)
    room = max(share - len(mine), 0)
    seen = free_since or {}
    free_grace = grace_ms if free_grace_ms is None else free_grace_ms

    def waited(s: int) -> bool:
        holder = table[s]
        if holder.owner != FREE:  # a lease that ran out: unheld since its expiry
            return now_ms - holder.expires_ms >= grace_ms
        return now_ms - seen.get(s, now_ms) >= free_grace

    # Above the share, one shard a round: a worker takes its shards one after another, and
    # three taken at once by one survivor opened in a queue (the last traded 11.7 s after a
    # SIGSTOP) while a peer with room had taken one; the next round's peers take the others.
    take = free[:room] + [s for s in free[room:] if waited(s)][:1]
    excess = len(mine) - share
    if excess <= 0 or not rebalance or free:
        # Nothing to give back while shards are unheld: they are the peers' room first.
        return Plan(tuple(take), outside, share)
    counts = {name: 0 for name in alive - {me}}
    for s in pool:
        owner = table[s].owner
        if owner in counts and table[s].live(now_ms):
            counts[owner] += 1
    peers_room = sum(max(share - n, 0) for n in counts.values())
    back = tuple(mine[len(mine) - min(excess, peers_room) :]) if peers_room else ()
    return Plan(tuple(take), outside + back, share)


def deploy_shards(shards: int, fraction: float) -> frozenset[int]:
    """The shards a blue-green deploy has moved to the new version at ``fraction`` of the
    accounts: the lowest-numbered ``ceil(fraction × shards)`` (every account hashes to one, so
    this is about that fraction of them; ``rampart deploy status`` counts them exactly)."""
    if not 0 <= fraction <= 1:
        raise ValueError("a deploy moves between 0 and 1 of the shards")
    return frozenset(range(math.ceil(fraction * shards - 1e-9)))


__all__ = ["FREE", "Holder", "Plan", "deploy_shards", "plan", "shard_of"]

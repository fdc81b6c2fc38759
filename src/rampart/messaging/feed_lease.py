"""Which ``rampart feed`` publishes, when two or more run: a leader lease on NATS.

The lease lives on JetStream, not in PostgreSQL, because a feed needs nothing else: it reads
the exchange and writes to NATS. A lease in the database would add a second thing that can
fail, and a PostgreSQL outage would then stop market data for every worker. When NATS itself
is down no feed can publish anyway, so keeping the lease there costs nothing.

The lease is the newest message on ``rampart.feed.leader`` in the stream ``RAMPART_FEED``
(one kept per subject): ``{"owner", "token", "expires_ms"}``. Every write is a compare-and-set
on the subject's last sequence (``Nats-Expected-Last-Subject-Sequence``), so two feeds racing
for it cannot both win: JetStream refuses the second write. A feed takes the lease when it is
free, has run out (``expires_ms`` on the feeds' shared wall clock, as the shard leases do) or
is already its own, and renews it every ``scale.renew_every_s``. Taking it from another adds
one to ``token``.

A feed publishes only while :meth:`FeedLease.valid` says so by its own clock: a leader that
was stopped (SIGSTOP, a frozen VM) wakes past the end of its lease and publishes nothing
until it has renewed, which fails once a standby has taken over. A candle it was already
sending when it froze is dropped by the market stream's message-id dedupe.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import structlog

from rampart.clock import Clock
from rampart.extras import require
from rampart.messaging.nats_link import ensure_stream

log = structlog.get_logger("rampart.messaging.feed_lease")

LEASE_STREAM = "RAMPART_FEED"
LEADER = "rampart.feed.leader"
WRONG_LAST_SEQUENCE = (10071, 10164)
"""JetStream's answers to a compare-and-set whose expected sequence is not the last."""


@dataclass(frozen=True, slots=True)
class Holder:
    owner: str
    token: int
    expires_ms: int


async def lease_stream(nc: Any, replicas: int = 1) -> Any:
    """The JetStream context, with the lease stream created if it does not exist."""
    return await ensure_stream(
        nc,
        LEASE_STREAM,
        [LEADER],
        max_msgs_per_subject=1,
        num_replicas=replicas,
        duplicate_window=1.0,
    )


async def read_holder(js: Any) -> tuple[int, Holder | None]:
    """The lease as stored: its sequence (0: never written) and holder."""
    errors = require("scale", "nats.js.errors")
    try:
        msg = await js.get_last_msg(LEASE_STREAM, LEADER)
    except errors.NotFoundError:
        return 0, None
    try:
        raw = json.loads(msg.data)
        holder = Holder(str(raw["owner"]), int(raw["token"]), int(raw["expires_ms"]))
    except (ValueError, TypeError, KeyError):
        log.warning("feed_lease_unreadable", data=repr(msg.data[:80]))
        holder = Holder("", 0, 0)  # anyone may take it: the next write replaces it
    return int(msg.seq), holder


class FeedLease:
    """Feed ``owner``'s hold on the leader lease, ``ttl_ms`` long on ``clock`` (the wall
    clock, which every feed shares)."""

    def __init__(self, js: Any, owner: str, clock: Clock, ttl_ms: int) -> None:
        if not owner:
            raise ValueError("a feed has a name")
        self.js = js
        self.owner = owner
        self.clock = clock
        self.ttl_ms = ttl_ms
        self.token = 0
        """The token of the lease held (0: none)."""
        self.expires_ms = 0
        """When the lease held runs out, as last renewed."""
        self.takeovers = 0
        """Times this feed became the leader."""

    def valid(self) -> bool:
        """Whether this feed may publish now, by its own clock."""
        return self.token > 0 and self.clock.now_ms() < self.expires_ms

    async def hold(self) -> bool:
        """Take the lease if it is free, ran out or is this feed's; renew it if held. Whether
        this feed holds it afterwards. NATS errors propagate (the caller retries later)."""
        now = self.clock.now_ms()
        seq, holder = await read_holder(self.js)
        mine = holder is not None and holder.owner == self.owner and holder.token == self.token
        if not mine and holder is not None and holder.owner and holder.expires_ms > now:
            self._lost()
            return False
        token = self.token if mine else (holder.token if holder else 0) + 1
        if not await self._write(seq, Holder(self.owner, token, now + self.ttl_ms)):
            self._lost()
            return False
        if not mine:
            self.takeovers += 1
            log.info("feed_lease_taken", feed=self.owner, token=token)
        self.token, self.expires_ms = token, now + self.ttl_ms
        return True

    async def release(self) -> None:
        """Give the lease back at once (a clean stop), so a standby need not wait it out."""
        if self.token == 0:
            return
        seq, holder = await read_holder(self.js)
        if holder is not None and holder.owner == self.owner and holder.token == self.token:
            await self._write(seq, Holder("", self.token, 0))
        self.token, self.expires_ms = 0, 0

    def _lost(self) -> None:
        if self.token:
            log.warning("feed_lease_lost", feed=self.owner, token=self.token)
        self.token, self.expires_ms = 0, 0

    async def _write(self, last_seq: int, holder: Holder) -> bool:
        """Compare-and-set: False when another feed wrote the lease since ``last_seq``."""
        api = require("scale", "nats.js.api")
        errors = require("scale", "nats.js.errors")
        body = {"owner": holder.owner, "token": holder.token, "expires_ms": holder.expires_ms}
        try:
            await self.js.publish(
                LEADER,
                json.dumps(body).encode(),
                stream=LEASE_STREAM,
                headers={api.Header.EXPECTED_LAST_SUBJECT_SEQUENCE: str(last_seq)},
            )
        except errors.APIError as err:
            if err.err_code in WRONG_LAST_SEQUENCE:
                return False
            raise
        return True


__all__ = ["LEADER", "LEASE_STREAM", "FeedLease", "Holder", "lease_stream", "read_holder"]

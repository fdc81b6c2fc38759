"""A :class:`~rampart.venues.ccxt_venue.CcxtVenue`'s order streams and the pace of its polls.

The streams are where the request weight is saved: an account whose stream is open learns its
fills by websocket, so its orders are polled only every ``safety_poll_s`` (a net under the
stream) instead of before every candle. An account is polled at the candle's pace whenever the
stream cannot stand in for REST: its stream is down or not open yet, or one of its orders needs
a call only REST makes (a create not confirmed, a cancel to send again, a leg held here whose
trigger is read from the ticker). Reconciliation stays REST, whatever the streams say.

The streams run only between :meth:`OrderStreams.start` and :meth:`OrderStreams.stop`: the
service starts them with the venue, a worker with each shard it takes, and stops them when the
shard is handed back or lost. Each account's stream is a ccxt.pro client built from its REST
client's key (``twin``), so an investor's key connected while they run gets a stream too
(:meth:`OrderStreams.add`), and one disconnected loses it (:meth:`OrderStreams.remove`).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import structlog

from rampart.clock import Clock
from rampart.venues.ccxt_order_stream import OrderStream
from rampart.venues.ccxt_orders import OrderTracker, Tracked, under_way
from rampart.venues.ccxt_sync import OrderSync

log = structlog.get_logger("rampart.venues.ccxt")

SAFETY_POLL_S = 60.0
StateHook = Callable[[str, str], None]
"""``(account_id, state)``: ``streaming`` or ``polling``."""


def quiet(t: Tracked) -> bool:
    """Nothing about this order needs a REST call that its account's stream cannot replace.
    An order under way (a market order, one partly filled) is not: a stream's update may
    carry one trade of several, and the rest are asked for over REST until it ends."""
    return not t.local and t.acknowledged and not under_way(t)


class OrderStreams:
    def __init__(
        self,
        sync: OrderSync,
        clock: Clock,
        *,
        min_interval_ms: int = 0,
        safety_poll_s: float = SAFETY_POLL_S,
        twin: Callable[[Any], Any] | None = None,
    ) -> None:
        """``twin(client)`` builds the ccxt.pro client streaming the orders of the account
        ``client`` trades for (None: the venue has no streams; every account is polled at the
        candle's pace)."""
        self.sync = sync
        self.clock = clock
        self.min_interval_ms = min_interval_ms
        self.safety_ms = int(safety_poll_s * 1000)
        self.twin = twin
        self.stream: OrderStream | None = None
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._public: Any = None
        self._last_poll_ms: int | None = None
        self._last_account_ms: dict[str, int] = {}

    @property
    def running(self) -> bool:
        return any(not task.done() for task in self._tasks.values())

    def states(self) -> dict[str, str]:
        """Each streamed account's state (empty when the streams are not running)."""
        return dict(self.stream.state) if self.stream is not None and self.running else {}

    # -- pace ---------------------------------------------------------------------------------

    def due(self, tracker: OrderTracker, now: int) -> set[str] | None:
        """The accounts a poll at ``now`` asks about; None: every account (no stream runs)."""
        last = self._last_poll_ms
        if self.min_interval_ms and last is not None and now - last < self.min_interval_ms:
            return set()
        states = self.states()
        if not states:
            return None
        stream = self.stream
        asked = stream.poll_wanted if stream is not None else set()
        calm: dict[str, bool] = {}
        for t in tracker:
            calm[t.account_id] = calm.get(t.account_id, True) and quiet(t)
        wanted = set()
        for account_id, all_quiet in calm.items():
            seen = self._last_account_ms.get(account_id)
            streaming = states.get(account_id) == "streaming"
            if account_id in asked:
                # Its stream failed or was subscribed again: what it missed, over REST now (a
                # flag set while this poll runs asks again at the next).
                asked.discard(account_id)
            elif all_quiet and streaming and seen is not None and now - seen < self.safety_ms:
                continue  # the stream brings its news; REST asks again at the safety pace
            wanted.add(account_id)
        return wanted

    def polled(self, accounts: Iterable[str] | None, tracker: OrderTracker, now: int) -> None:
        self._last_poll_ms = now
        for account_id in accounts if accounts is not None else {t.account_id for t in tracker}:
            self._last_account_ms[account_id] = now

    async def apply_received(self) -> None:
        """Apply what the streams heard since the last poll (the venue's poll, in the engine's
        candle: the tracker moves with the books, see :mod:`rampart.venues.ccxt_order_stream`)."""
        if self.stream is not None and self.stream.inbox:
            await self.stream.apply_received()

    # -- lifecycle ----------------------------------------------------------------------------

    def start(
        self,
        clients: Mapping[str, Any],
        public: Any,
        *,
        on_state: StateHook | None = None,
        allowed: Callable[[], bool] | None = None,
    ) -> bool:
        """Open a stream for each account of ``clients`` (its REST client by account id):
        True, unless the venue has none or they run already."""
        if self.twin is None or self.stream is not None:
            return False
        self._public = public
        self.stream = OrderStream(
            self.sync, {}, clock=self.clock, on_state=on_state, allowed=allowed
        )
        for account_id, client in clients.items():
            self.add(account_id, client)
        log.info("order_stream_started", accounts=len(self._tasks))
        return True

    def add(self, account_id: str, client: Any) -> None:
        """Stream ``account_id``'s orders too (its key connected while the streams run)."""
        stream = self.stream
        if self.twin is None or stream is None or account_id in self._tasks:
            return
        ws = self.twin(client)
        if getattr(self._public, "markets", None):  # loaded once: a stream asks for none
            ws.set_markets_from_exchange(self._public)
        stream.clients[account_id] = ws
        self._tasks[account_id] = asyncio.create_task(
            stream.run_account(account_id), name=f"order-stream-{account_id}"
        )

    async def remove(self, account_id: str) -> None:
        """Stop streaming ``account_id`` (its key disconnected); its state is forgotten."""
        task = self._tasks.pop(account_id, None)
        stream = self.stream
        if task is None or stream is None:
            return
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
        await stream.close_account(account_id)

    async def stop(self) -> None:
        """Close every stream; what comes after is learnt by polling (and reconciliation)."""
        stream, tasks = self.stream, list(self._tasks)
        # Together: a shard is dropped under its worker's lock, and one account at a time would keep
        # the worker's other shards waiting about 2 s of a failover's 10.
        await asyncio.gather(*(self.remove(account_id) for account_id in tasks))
        self.stream = None
        if stream is not None:
            log.info("order_stream_stopped", accounts=len(tasks))

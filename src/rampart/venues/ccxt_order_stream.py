"""The account's own orders and fills by websocket (ccxt.pro ``watch_orders``), REST behind.

Each account's stream only *receives*: the updates it hears are kept, raw, in its inbox, and
the venue's poll — which the engine awaits at the start of a candle, before it drains the
venue's reports — hands them to :meth:`OrderSync.absorb`, the same door a poll's answers go
through: only what is new is reported (the acknowledgement, each trade once by its id, then the
final status), so a fill seen on the stream and again by a poll or a reconciliation is booked
once. A trade the update does not carry is asked for over REST, as a poll would.

Why not absorb as the news arrives: absorbing marks the trade as seen in the order tracker,
which the checkpoint saves with the books. A stream absorbing between candles (its reports held
across REST calls for the trades and fees, or queued until the engine's next drain) left a
window in which a checkpoint saved the tracker ahead of the books; a worker killed then, or a
shard taken over, restored a tracker that had "seen" a trade the books never booked, and the
fill was lost for good. Applied inside the engine's candle, the tracker and the books move
together: a checkpoint is taken after the candle's drain, never in between.

When a stream fails, or once it is subscribed (again), its account is marked for a REST poll
(what it missed, the gap between the last poll and the new subscription), made by the next
candle's poll; the stream is opened again after a backoff (full jitter) that grows while it
keeps failing. ``state`` says ``streaming`` or ``polling`` for the venue's pace and the feed
gauge. An account counts as streaming once its client has signed in to the user data stream
(``authenticate``, where the client has one: Binance's ``userDataStream.subscribe.signature``
is answered), so an account whose orders rest quietly is not polled as if its stream were down.

``allowed()`` is asked before anything the stream learnt is kept or applied: a worker's shard
passes its lease, so a stream still open on a shard this worker no longer holds absorbs nothing.
"""

from __future__ import annotations

import asyncio
import inspect
import random
from collections.abc import Callable, Mapping
from typing import Any

import structlog

from rampart.clock import Clock
from rampart.venues.ccxt_sync import OrderSync
from rampart.venues.retry import Backoff, RetryPolicy

log = structlog.get_logger("rampart.venues.ccxt_order_stream")

STREAM_RETRY = RetryPolicy(attempts=1, base_s=2.0, cap_s=300.0)


class OrderStream:
    def __init__(
        self,
        sync: OrderSync,
        clients: Mapping[str, Any],
        *,
        clock: Clock,
        rng: random.Random | None = None,
        on_state: Callable[[str, str], None] | None = None,
        allowed: Callable[[], bool] | None = None,
    ) -> None:
        """``clients``: a ccxt.pro client per account id, with that account's key.
        ``on_state(account_id, state)`` is told each change of an account's state."""
        self.sync = sync
        self.clients = dict(clients)
        self.clock = clock
        self.rng = rng or random.Random()  # noqa: S311 - reconnect jitter, not a secret
        self.on_state = on_state
        self.allowed = allowed or (lambda: True)
        self.state: dict[str, str] = {}
        self.inbox: dict[str, list[dict[str, Any]]] = {}
        """The updates heard and not yet applied, per account (see :meth:`apply_received`)."""
        self.poll_wanted: set[str] = set()
        """Accounts whose next poll must ask REST (a stream failed or was subscribed again)."""
        self.received = 0
        self.updates = 0
        self.failures = 0

    def _tell(self, account_id: str, state: str) -> None:
        if self.state.get(account_id) != state:
            self.state[account_id] = state
            if self.on_state is not None:
                self.on_state(account_id, state)

    def receive(self, account_id: str, orders: list[dict[str, Any]]) -> None:
        """Keep what the stream heard until the engine's next poll applies it."""
        if not self.allowed() or account_id not in self.clients:
            return  # the shard is no longer this worker's: its new holder learns it
        self.inbox.setdefault(account_id, []).extend(o for o in orders if isinstance(o, dict))
        self.received += len(orders)

    async def apply_received(self) -> int:
        """Absorb every update received since the last call (the venue's poll calls this, inside
        the engine's candle); how many concerned an order the venue follows."""
        applied = 0
        while self.inbox:
            account_id, orders = self.inbox.popitem()
            if account_id in self.clients:
                applied += await self.apply(account_id, orders)
        return applied

    async def apply(self, account_id: str, orders: list[dict[str, Any]]) -> int:
        """Absorb the updates of orders the venue follows; how many were applied."""
        if not self.allowed():
            return 0  # the shard is no longer this worker's: its new holder learns it
        applied = 0
        with self.sync.holding():
            for order in orders:
                tracked = self.sync.tracker.get(str(order.get("clientOrderId")))
                if tracked is None or tracked.account_id != account_id or tracked.local:
                    continue
                await self.sync.absorb(tracked, order)
                applied += 1
        self.updates += applied
        return applied

    async def run_account(self, account_id: str) -> None:
        client = self.clients[account_id]
        backoff = Backoff(STREAM_RETRY, self.rng)
        signed_in = False
        while self.allowed():
            try:
                if not signed_in:
                    await _sign_in(client)
                    signed_in = True
                    # Subscribed: what happened before it (since the last poll, the gap after
                    # a drop) is read over REST once, by the next poll; what comes after, by
                    # the stream.
                    self.poll_wanted.add(account_id)
                    self._tell(account_id, "streaming")
                orders = await client.watch_orders()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.failures += 1
                signed_in = False
                self._tell(account_id, "polling")
                delay = backoff.next_delay()
                log.warning(
                    "order_stream_failed",
                    account_id=account_id,
                    error=type(exc).__name__,
                    retry_in_s=round(delay, 1),
                )
                self.poll_wanted.add(account_id)  # what the stream missed, over REST
                await self.clock.sleep(delay)
                continue
            backoff.reset()
            self._tell(account_id, "streaming")
            self.receive(account_id, list(orders))

    async def run(self) -> None:
        await asyncio.gather(*(self.run_account(a) for a in self.clients))

    async def close_account(self, account_id: str) -> None:
        """Close one account's client and forget its state (its stream has been stopped)."""
        client = self.clients.pop(account_id, None)
        self.inbox.pop(account_id, None)
        self.poll_wanted.discard(account_id)
        if self.state.pop(account_id, None) is not None and self.on_state is not None:
            self.on_state(account_id, "")  # no longer streamed, nor polled for a stream
        if client is None:
            return
        try:
            await client.close()
        except Exception as exc:  # best effort
            log.info("order_stream_close_failed", error=type(exc).__name__)

    async def close(self) -> None:
        for account_id in list(self.clients):
            await self.close_account(account_id)


async def _sign_in(client: Any) -> None:
    """Open and subscribe the account's user data stream before waiting for news (ccxt.pro's
    ``authenticate``, where the exchange's client has one; it returns once subscribed)."""
    authenticate = getattr(client, "authenticate", None)
    if callable(authenticate) and _no_arguments_needed(authenticate):
        await authenticate()


def _no_arguments_needed(fn: Callable[..., Any]) -> bool:
    """Some exchanges' ``authenticate`` wants a URL: theirs sign in inside ``watch_orders``."""
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return False
    return all(
        p.default is not p.empty or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) for p in params
    )

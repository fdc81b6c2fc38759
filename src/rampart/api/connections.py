"""Connection limits for the API server: a request deadline and a cap on open connections.

The API runs in the process that trades, so a client must not be able to park work or file
descriptors in it. uvicorn's h11 protocol closes an idle keep-alive connection
(``timeout_keep_alive``) and bounds the header size (``h11_max_incomplete_event_size``), but
a connection that never sends a request, or sends one a byte at a time, is held forever;
and every accepted connection stays open however many there are. This subclass adds:

- a **request deadline**: the request line, headers and body must have arrived within
  ``request_timeout_s`` of the connection opening (or, on a keep-alive connection, of the
  next request's first byte), or the connection is closed;
- a **header cap** on the whole request head, not only on an incomplete one;
- a **connection cap**: past ``max_connections`` a new connection closes the oldest one that
  has no request in progress (an idle or partial one, which is what a flood is made of), so
  an operator's kill switch still gets through; when every connection is busy with a
  request, the new one gets 503 and is closed.

Timers are the event loop's (real time): these are liveness bounds, not business time.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

import h11
import structlog
from uvicorn.protocols.http.h11_impl import H11Protocol

log = structlog.get_logger("rampart.api.connections")

_BUSY_BODY = b'{"error": "The API is busy; try again in a few seconds."}'
BUSY = (
    b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\n"
    b"content-length: %d\r\nretry-after: 5\r\nconnection: close\r\n\r\n%s"
    % (len(_BUSY_BODY), _BUSY_BODY)
)
# Their side is still sending a request in these states (IDLE: only if bytes are buffered).
_READING = (h11.IDLE, h11.SEND_BODY)
WARN_EVERY_S = 60.0
"""A flood is logged once a minute with counts, not once per connection."""


@dataclass(frozen=True, slots=True)
class ConnectionLimits:
    request_timeout_s: float = 10.0
    max_connections: int = 256
    max_header_bytes: int = 8192


class _HeadLimited(h11.Connection):
    """h11 bounds only a request head that is still incomplete (its buffer); one that arrives
    whole in a single read may be as large as that read. This bounds the complete head too:
    uvicorn answers the error with 400 and closes."""

    def __init__(self, max_head: int) -> None:
        super().__init__(h11.SERVER, max_incomplete_event_size=max_head)
        self.max_head = max_head

    def next_event(self) -> Any:
        event = super().next_event()
        if isinstance(event, h11.Request):
            size = len(event.method) + len(event.target)
            size += sum(len(name) + len(value) + 4 for name, value in event.headers)
            if size > self.max_head:
                raise h11.RemoteProtocolError("Request headers too large", 431)
        return event


@dataclass
class ConnectionStats:
    """What the guard did, for the log line and for tests."""

    timed_out: int = 0
    evicted: int = 0
    refused: int = 0


@dataclass
class _Registry:
    limits: ConnectionLimits
    open: set[GuardedH11Protocol] = field(default_factory=set)
    idle: dict[GuardedH11Protocol, None] = field(default_factory=dict)
    """Connections with no request in progress, oldest first (a dict keeps insertion order)."""
    stats: ConnectionStats = field(default_factory=ConnectionStats)
    warned_at: float = float("-inf")


class GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with the request deadline and the connection cap."""

    registry: _Registry  # set on the subclass made by ``guarded_protocol``

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.conn = _HeadLimited(self.registry.limits.max_header_bytes)
        self._deadline: asyncio.TimerHandle | None = None

    # -- bookkeeping ---------------------------------------------------------------------------

    def _arm(self) -> None:
        if self._deadline is None:
            timeout = self.registry.limits.request_timeout_s
            self._deadline = self.loop.call_later(timeout, self._expired)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _expired(self) -> None:
        self._deadline = None
        if self.transport.is_closing() or self.conn.their_state not in _READING:
            return
        self.registry.stats.timed_out += 1
        self._warn()
        self._drop()

    def _drop(self) -> None:
        reg = self.registry
        reg.open.discard(self)
        reg.idle.pop(self, None)
        self._disarm()
        self.transport.close()

    def _warn(self) -> None:
        reg = self.registry
        now = self.loop.time()
        if now - reg.warned_at >= WARN_EVERY_S:
            reg.warned_at = now
            s = reg.stats
            log.warning(
                "api_connections_limited",
                open=len(reg.open),
                timed_out=s.timed_out,
                evicted=s.evicted,
                refused=s.refused,
                request_timeout_s=reg.limits.request_timeout_s,
                max_connections=reg.limits.max_connections,
            )

    # -- protocol ------------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        reg = self.registry
        if len(reg.open) >= reg.limits.max_connections:
            if reg.idle:
                victim = next(iter(reg.idle))
                reg.stats.evicted += 1
                victim._drop()
            else:
                reg.stats.refused += 1
                self._warn()
                transport.write(BUSY)
                transport.close()
                return
        reg.open.add(self)
        reg.idle[self] = None
        self._arm()  # the first request must arrive within the deadline

    def connection_lost(self, exc: Exception | None) -> None:
        self.registry.open.discard(self)
        self.registry.idle.pop(self, None)
        self._disarm()
        super().connection_lost(exc)

    def handle_events(self) -> None:
        before = self.cycle
        super().handle_events()
        if self.cycle is not before:  # a request's headers arrived: it is no longer idle
            self.registry.idle.pop(self, None)
        if self.transport.is_closing():
            self._disarm()
            return
        state = self.conn.their_state
        if state is h11.SEND_BODY or (state is h11.IDLE and self.conn.trailing_data[0]):
            # Part of a request is here: the rest must follow before the deadline, counted
            # from its first byte (re-arming on every byte would let a slow client stay).
            self._arm()
        elif state is not h11.IDLE:
            self._disarm()  # the request is complete; the app has it

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing() and self in self.registry.open:
            self.registry.idle[self] = None  # uvicorn's keep-alive timeout now governs it


def guarded_protocol(limits: ConnectionLimits) -> type[GuardedH11Protocol]:
    """A protocol class with its own registry: one per server start."""
    return type("GuardedH11Protocol", (GuardedH11Protocol,), {"registry": _Registry(limits)})

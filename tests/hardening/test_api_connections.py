"""Connection limits on the real served API: idle, partial and slow connections are closed by
the server within ``api.request_timeout_s``, past ``api.max_connections`` the oldest idle one
makes room (so a real request still gets through), oversized headers get 400, and candles
keep being processed on the same event loop throughout.

These wait on real time (the limits are liveness bounds on real sockets), each for a few
seconds at most; the bounds asserted on timing are generous because the machine is shared.
"""

from __future__ import annotations

import asyncio
import selectors
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from rampart.api.connections import ConnectionStats
from tests.api.conftest import LiveApi

PARTIAL_HEADERS = b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "
PARTIAL_BODY = (
    b"POST /api/v1/admin/kill-switch HTTP/1.1\r\nHost: 127.0.0.1\r\n"
    b'Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{"reason": '
)


def _serve(tmp_path: Path, **api: Any) -> LiveApi:
    live = LiveApi(tmp_path, api=api)
    try:
        return live.start(warm=10)
    except BaseException:
        live.stop()
        raise


@pytest.fixture
def started() -> Iterator[list[LiveApi]]:
    made: list[LiveApi] = []
    try:
        yield made
    finally:
        for live in made:
            live.stop()


def _open(live: LiveApi, count: int, first: bytes = b"") -> list[socket.socket]:
    socks = []
    for _ in range(count):
        s = socket.create_connection(("127.0.0.1", live.server.port), timeout=5)
        if first:
            s.sendall(first)
        s.setblocking(False)
        socks.append(s)
    return socks


def _wait_closed(socks: list[socket.socket], within_s: float) -> dict[socket.socket, float]:
    """When each socket saw the server close it (EOF or reset), waiting at most ``within_s``;
    anything the server sent first (a 503, a 408) is read and dropped."""
    closed: dict[socket.socket, float] = {}
    sel = selectors.DefaultSelector()
    for s in socks:
        sel.register(s, selectors.EVENT_READ)
    deadline = time.monotonic() + within_s
    while len(closed) < len(socks) and time.monotonic() < deadline:
        for key, _ in sel.select(timeout=0.2):
            s = key.fileobj
            assert isinstance(s, socket.socket)
            try:
                data = s.recv(65536)
            except (ConnectionResetError, BrokenPipeError):
                data = b""
            except BlockingIOError:
                continue
            if not data:
                closed[s] = time.monotonic()
                sel.unregister(s)
    sel.close()
    return closed


def _eventually(check: Any, within_s: float = 10) -> bool:
    deadline = time.monotonic() + within_s
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def _close_all(socks: list[socket.socket]) -> None:
    for s in socks:
        s.close()


def _stats(live: LiveApi) -> ConnectionStats:
    protocol = live.server.protocol
    assert protocol is not None
    return protocol.registry.stats  # type: ignore[attr-defined]


def _open_count(live: LiveApi) -> int:
    return live.call(lambda: live.server.connections)


def _idle_count(live: LiveApi) -> int:
    protocol = live.server.protocol
    return live.call(lambda: len(protocol.registry.idle))  # type: ignore[union-attr]


@dataclass
class CandlePace:
    """A stand-in for the service's candle loop on the server's event loop: one candle every
    20 ms through the engine, under the operator lock, with the gaps between them measured."""

    live: LiveApi
    gaps: list[float] = field(default_factory=list)
    stop: asyncio.Event | None = None

    async def run(self) -> None:
        self.stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        last = loop.time()
        while not self.stop.is_set():
            await self.live._trade(1)
            await asyncio.sleep(0.02)
            now = loop.time()
            self.gaps.append(now - last)
            last = now


def test_idle_and_partial_connections_are_closed_and_trading_keeps_its_pace(
    tmp_path: Path, started: list[LiveApi]
) -> None:
    timeout_s = 2.0
    live = _serve(tmp_path, request_timeout_s=timeout_s, max_connections=1024)
    started.append(live)
    pace = CandlePace(live)
    running = asyncio.run_coroutine_threadsafe(pace.run(), live.loop)
    try:
        opened_at = time.monotonic()
        idle = _open(live, 250)
        partial = _open(live, 150, PARTIAL_HEADERS)
        slow_body = _open(live, 100, PARTIAL_BODY)
        flood = idle + partial + slow_body
        try:
            # 500 idle and partial connections were taken in, and real requests still get
            # answers. On a slow machine the first ones may reach their deadline before the
            # last is accepted: those count as taken in (and closed on time).
            assert _eventually(
                lambda: _open_count(live) + _stats(live).timed_out >= 500, within_s=30
            )
            assert live.get("/health", who=None).status_code == 200
            accounts = live.get("/api/v1/admin/accounts")
            assert accounts.status_code == 200, accounts.text
            candles_during_flood = len(pace.gaps)
            closed = _wait_closed(flood, within_s=timeout_s + 20)
            candles_while_closing = len(pace.gaps) - candles_during_flood
        finally:
            _close_all(flood)
        # Enough candles for a median; how many fit in the flood depends on the machine's speed.
        assert _eventually(lambda: len(pace.gaps) >= 20, within_s=30)
    finally:
        live.loop.call_soon_threadsafe(lambda: pace.stop and pace.stop.set())
        running.result(timeout=30)

    assert len(closed) == len(flood), f"{len(flood) - len(closed)} connections still open"
    waited = [at - opened_at for at in closed.values()]
    # Closed by the deadline, not before it; the upper bound is generous for a busy machine.
    assert min(waited) >= timeout_s - 0.05
    assert max(waited) < timeout_s + 20
    assert _stats(live).timed_out >= len(flood)
    # The candle loop kept running on the same event loop through the flood.
    assert candles_during_flood > 0
    assert candles_while_closing > 0
    assert max(pace.gaps) < 5.0, f"the candle loop stalled for {max(pace.gaps):.2f} s"
    median_ms = sorted(pace.gaps)[len(pace.gaps) // 2] * 1000
    print(
        f"\nflood of {len(flood)}: closed after {min(waited):.2f}–{max(waited):.2f} s; "
        f"{len(pace.gaps)} candles meanwhile, gap median {median_ms:.0f} ms, "
        f"max {max(pace.gaps) * 1000:.0f} ms"
    )


def test_past_the_cap_the_oldest_idle_connection_makes_room(
    tmp_path: Path, started: list[LiveApi]
) -> None:
    cap = 50
    # A long deadline: here connections are closed by the cap, not by the clock.
    live = _serve(tmp_path, request_timeout_s=60, max_connections=cap)
    started.append(live)
    flood = _open(live, 200) + _open(live, 100, PARTIAL_HEADERS)
    try:
        kill = live.post("/api/v1/admin/kill-switch", {"reason": "under a connection flood"})
        assert kill.status_code == 200, kill.text
        assert kill.json()["engaged"] is True
        closed = _wait_closed(flood, within_s=10)
        # All but the newest ``cap`` (less the one the request took) were evicted at once.
        assert len(closed) >= len(flood) - cap
        assert _open_count(live) <= cap
        assert _stats(live).evicted >= len(flood) - cap
    finally:
        _close_all(flood)


def test_when_every_connection_is_busy_a_new_one_gets_503(
    tmp_path: Path, started: list[LiveApi]
) -> None:
    cap = 20
    # Long enough that all 20 are still busy when the 21st comes: with 2 s, on a loaded CI
    # machine the first reached their deadline before the check saw all 20 open (the deadline
    # itself is the test above's).
    timeout_s = 8.0
    live = _serve(tmp_path, request_timeout_s=timeout_s, max_connections=cap)
    started.append(live)
    # Each has sent its headers and is slowly sending its body: a request in progress.
    busy = _open(live, cap, PARTIAL_BODY)
    try:
        assert _eventually(lambda: _open_count(live) == cap and _idle_count(live) == 0)
        extra = socket.create_connection(("127.0.0.1", live.server.port), timeout=5)
        try:
            extra.settimeout(5)
            answer = extra.recv(4096)
            assert answer.startswith(b"HTTP/1.1 503 ")
            assert b"The API is busy" in answer
        finally:
            extra.close()
        assert _stats(live).refused == 1
        # The slow bodies are cut off by the deadline, and then there is room again.
        closed = _wait_closed(busy, within_s=timeout_s + 20)
        assert len(closed) == cap
    finally:
        _close_all(busy)
    assert live.get("/health", who=None).status_code == 200


def test_headers_over_the_limit_get_400(tmp_path: Path, started: list[LiveApi]) -> None:
    live = _serve(tmp_path, max_header_bytes=4096)
    started.append(live)
    ok = live.client.get("/health", headers={"X-Pad": "a" * 3000})
    assert ok.status_code == 200
    big = live.client.get("/health", headers={"X-Pad": "a" * 5000})
    assert big.status_code == 400

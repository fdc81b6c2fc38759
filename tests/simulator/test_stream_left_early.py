"""A client that leaves before the simulator answers its websocket handshake (a worker killed, or
dropping a shard's streams, while the server was slow) is no server error: the 30-minute chaos
bench printed aiohttp's traceback for each such handshake. The next client is served."""

from __future__ import annotations

import asyncio
import logging
import socket
import struct

import pytest
from yarl import URL

from rampart_testkit.simulator import start_simulator

UPGRADE = (
    "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
)


def _left_before_the_answer(port: int, path: str) -> None:
    """Send the handshake and reset the connection at once (SO_LINGER 0: an RST, as a killed
    process's kernel sends)."""
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.sendall(UPGRADE.format(path=path).encode())


@pytest.mark.parametrize("path", ["/ws-api/v3", "/ws"])
def test_a_client_gone_before_the_handshake_s_answer_is_no_server_error(
    path: str, caplog: pytest.LogCaptureFixture
) -> None:
    async def main() -> int:
        async with start_simulator(symbols=("BTC/USDT",)) as sim:
            port = URL(sim.url).port
            assert port is not None
            for _ in range(20):
                _left_before_the_answer(port, path)
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(UPGRADE.format(path=path).encode())
            status = await reader.readline()
            writer.close()
            return int(status.split()[1])

    with caplog.at_level(logging.ERROR):
        status = asyncio.run(main())
    assert status == 101  # the next client's handshake is answered
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []

"""A NATS server with JetStream of the caller's own, on an ephemeral loopback port (never the
machine's shared one): the scale tests and the scale soak start one, restart it (its store
kept, so the streams survive) and stop it."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path

from rampart.domain.errors import ConfigError

START_WITHIN_S = 10.0
MISSING = (
    "nats-server is not installed: the scale soak starts its own NATS server on 127.0.0.1 "
    "(Debian: apt-get install nats-server)."
)


class NatsMissing(ConfigError):
    """No ``nats-server`` binary on the PATH."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


def nats_binary() -> str:
    """The ``nats-server`` on the PATH; :class:`NatsMissing` in one sentence when there is
    none."""
    binary = shutil.which("nats-server")
    if binary is None:
        raise NatsMissing(MISSING)
    return binary


class NatsServer:
    def __init__(self, store: Path, port: int | None = None) -> None:
        self.store = store
        self.port = port or free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.restarts = 0

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def start(self) -> None:
        binary = nats_binary()
        self.process = subprocess.Popen(  # noqa: S603 - nats-server by full path, no shell
            [binary, "-js", "-a", "127.0.0.1", "-p", str(self.port), "-sd", str(self.store)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        # Waiting for a process to listen, not for an event of the code under test.
        deadline = time.monotonic() + START_WITHIN_S
        while not _answers(self.port):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"nats-server did not start on port {self.port}")
            time.sleep(0.05)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None

    def restart(self) -> None:
        """Stop the server and start it again on the same port and store."""
        self.stop()
        self.start()
        self.restarts += 1


__all__ = ["MISSING", "NatsMissing", "NatsServer", "free_port", "nats_binary"]

"""A NATS server with JetStream of the test's own, on an ephemeral loopback port (never the
machine's shared one), stopped and its store deleted at the end (the testkit's server; a test
without the binary skips, and fails in CI)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from rampart_testkit.nats import NatsMissing, NatsServer
from tests.conftest import IN_CI

__all__ = ["NatsServer", "nats_server", "require_nats"]


def require_nats(server: NatsServer) -> None:
    """Start ``server``; skip the test (fail it in CI) without the binary."""
    try:
        server.start()
    except NatsMissing:
        if IN_CI:
            pytest.fail("nats-server is not installed; .ci/run installs Debian's package")
        pytest.skip("nats-server is not installed")


@contextmanager
def nats_server(store: Path) -> Iterator[NatsServer]:
    server = NatsServer(store)
    require_nats(server)
    try:
        yield server
    finally:
        server.stop()

"""Every read a lease round makes fails as a StoreError when the database is away:
the rounds ride a StoreError out, and a raw driver error from the lease table's read (the
database shutting down in the chaos run) ended a worker."""

from __future__ import annotations

import socket

import pytest
import sqlalchemy as sa

from rampart.clock import SimClock
from rampart.domain.errors import StoreError
from rampart.store.leases import ShardLeases


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


SENTENCE = r"^The shard leases could not be read or written: .+\.$"
"""One sentence, whole: the worker's log and `rampart shards` print it as it is."""


# The reads, and the writes a round makes (a heartbeat, a clean leave).
@pytest.mark.parametrize("read", ["table", "workers", "seen", "beat", "leave"])
def test_a_round_s_reads_fail_as_store_errors_when_the_database_is_away(read: str) -> None:
    url = f"postgresql+psycopg://postgres@127.0.0.1:{_closed_port()}/test?connect_timeout=2"
    engine = sa.create_engine(url)
    try:
        leases = ShardLeases(engine, "w1", SimClock(1_000), 6_000)
        with pytest.raises(StoreError, match=SENTENCE):
            getattr(leases, read)()
    finally:
        engine.dispose()

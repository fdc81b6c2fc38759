"""One Rampart per database: a second instance is refused, from this process or another one,
and a lock dies with its process so a crash never blocks the next start."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

from rampart.domain.errors import RampartError
from rampart.store.instance_lock import InstanceLock, NoLock, acquire_instance_lock

REFUSAL_END = "stop it or point this one at another database."

# A second process: try the lock, say what happened, then hold it until stdin closes.
CHILD = """
import sys
from rampart.domain.errors import RampartError
from rampart.store.instance_lock import acquire_instance_lock
try:
    lock = acquire_instance_lock(sys.argv[1])
except RampartError as exc:
    print(exc.message, flush=True)
    sys.exit(2)
print("locked", flush=True)
sys.stdin.read()
lock.release()
"""


def _child(db_url: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", CHILD, db_url],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _try_in_child(db_url: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", CHILD, db_url],
        input="",
        capture_output=True,
        text=True,
        timeout=60,
    )


def _acquire_soon(db_url: str) -> InstanceLock:
    # PostgreSQL frees a dead client's locks once it notices the closed socket: usually at
    # once, but allow a short bounded wait.
    for _ in range(100):
        try:
            return acquire_instance_lock(db_url)
        except RampartError:
            time.sleep(0.05)
    return acquire_instance_lock(db_url)


def test_a_second_instance_in_the_same_process_is_refused(db_url: str) -> None:
    with acquire_instance_lock(db_url) as lock:
        assert lock.held()
        with pytest.raises(RampartError) as refused:
            acquire_instance_lock(db_url)
        message = refused.value.message
        assert message.startswith("Another Rampart is already running on ")
        assert message.endswith(REFUSAL_END)
        assert lock.where in message
        assert f"pid {os.getpid()}" in message
        assert "\n" not in message
    assert not lock.held()
    again = acquire_instance_lock(db_url)  # released: the next start is allowed
    again.release()
    again.release()  # idempotent


def test_a_second_instance_in_another_process_is_refused(db_url: str) -> None:
    lock = acquire_instance_lock(db_url)
    try:
        refused = _try_in_child(db_url)
        assert refused.returncode == 2, refused.stderr
        assert refused.stdout.startswith("Another Rampart is already running on ")
        assert refused.stdout.strip().endswith(REFUSAL_END)
        assert f"pid {os.getpid()}" in refused.stdout
    finally:
        lock.release()
    allowed = _try_in_child(db_url)
    assert allowed.returncode == 0 and allowed.stdout.startswith("locked"), allowed.stderr


def test_the_lock_dies_with_a_killed_holder(db_url: str) -> None:
    holder = _child(db_url)
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "locked", holder.stderr
        with pytest.raises(RampartError) as refused:
            acquire_instance_lock(db_url)
        assert f"pid {holder.pid}" in refused.value.message
    finally:
        holder.kill()  # as kill -9 would: no release, no cleanup
        holder.wait(timeout=30)
        for stream in (holder.stdin, holder.stdout, holder.stderr):
            if stream is not None:
                stream.close()
    lock = _acquire_soon(db_url)
    assert lock.held()
    lock.release()


def test_another_database_is_not_blocked(db_url: str, tmp_path: Path) -> None:
    if db_url.startswith("sqlite"):
        other = f"sqlite:///{tmp_path / 'other.db'}"
        cleanup = None
    else:
        base = os.environ["RAMPART_TEST_PG_URL"]
        schema = f"t_{uuid.uuid4().hex[:12]}"
        admin = sa.create_engine(base)
        with admin.begin() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        other = f"{base}{'&' if '?' in base else '?'}options=-csearch_path%3D{schema}"

        def cleanup() -> None:
            with admin.begin() as conn:
                conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()

    try:
        with acquire_instance_lock(db_url), acquire_instance_lock(other) as second:
            assert second.held()
    finally:
        if cleanup is not None:
            cleanup()


def test_sqlite_lock_file_sits_next_to_the_database(tmp_path: Path) -> None:
    db = tmp_path / "var" / "rampart.db"  # the directory does not exist yet
    with acquire_instance_lock(f"sqlite:///{db}"):
        assert (tmp_path / "var" / "rampart.db.lock").exists()


def test_an_in_memory_database_needs_no_lock() -> None:
    lock = acquire_instance_lock("sqlite://")
    assert isinstance(lock, NoLock) and lock.held()
    lock.release()

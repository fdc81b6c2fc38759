"""What a backup writer killed half-way leaves (a staging file, a plaintext copy of the store) is
cleared by the next backup, and never while another writer is still at work on the folder."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

import sqlalchemy as sa

from rampart.backup.create import create_backup
from rampart.backup.destinations import SUFFIX, DirectoryDestination
from rampart.backup.staging import leftovers
from rampart.store.db import open_database
from rampart.store.ops_records import BACKUP_CREATED, last_event
from rampart_testkit.soak_service.collect import check_backups
from rampart_testkit.soak_service.evidence import Evidence

# A writer at work: holds the folder's lock, has begun its staging file and its work folder,
# says so and waits for its stdin (the test kills it there, as kill -9 would mid-backup).
WRITER = """
import sys
from pathlib import Path
from rampart.backup.staging import writing_in
folder = Path(sys.argv[1])
with writing_in(folder):
    (folder / ".rampart-20240101T000000Z-sqlite-abcdef.rbk.partial").write_bytes(b"half")
    work = folder / ".rampart-backup-x1"
    work.mkdir()
    (work / "store.db").write_bytes(b"plaintext rows")
    print("writing", flush=True)
    sys.stdin.read()
"""


def _store(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    open_database(url).dispose()
    return url


def _cleared(db: sa.Engine) -> object:
    """What the newest backup's record says it cleared first (None: nothing)."""
    last = last_event(db, BACKUP_CREATED)
    assert last is not None
    return last.detail.get("cleared")


def test_a_killed_writers_leftovers_stay_while_it_lives_and_go_with_the_next_backup(
    tmp_path: Path,
) -> None:
    key = secrets.token_bytes(32)
    url = _store(tmp_path)
    db = open_database(url)
    dest = DirectoryDestination(tmp_path / "backups")
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(dest.path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert writer.stdout is not None and writer.stdout.readline().strip() == "writing"
        first = create_backup(url, key, dest, 1_700_000_000_000, record_in=db)
        # Another writer holds the lock: what looks left over is its own work and stays.
        assert [p.name for p in leftovers(dest.path)] == [
            ".rampart-20240101T000000Z-sqlite-abcdef.rbk.partial",
            ".rampart-backup-x1",
        ]
        assert _cleared(db) is None
    finally:
        os.kill(writer.pid, signal.SIGKILL)
        writer.wait(timeout=30)
        if writer.stdout is not None:
            writer.stdout.close()
        if writer.stdin is not None:
            writer.stdin.close()

    second = create_backup(url, key, dest, 1_700_000_001_000, record_in=db)
    assert leftovers(dest.path) == []
    assert _cleared(db) == [
        ".rampart-20240101T000000Z-sqlite-abcdef.rbk.partial",
        ".rampart-backup-x1",
    ]
    # Nothing but the backups: the writers' lock is on the folder itself, not a file in it.
    assert sorted(p.name for p in dest.path.iterdir()) == sorted([first.name, second.name])
    assert dest.names() == sorted([first.name, second.name])
    db.dispose()


def test_the_soak_judges_backups_only_and_names_a_cut_ones_leftover(tmp_path: Path) -> None:
    key = secrets.token_bytes(32)
    url = _store(tmp_path)
    dest = DirectoryDestination(tmp_path / "backups")
    made = create_backup(url, key, dest, 1_700_000_000_000)
    (dest.path / f".rampart-20240101T000000Z-sqlite-abcdef{SUFFIX}.partial").write_bytes(b"x")
    ev = Evidence(hours=1.0)
    check_backups(dest.path, key, 1_700_000_000_000, time.monotonic() + 120, ev)
    assert [(b.name, b.restored) for b in ev.backups] == [(made.name, True)]
    assert any("abcdef.rbk.partial left by a backup cut short" in n for n in ev.notes)

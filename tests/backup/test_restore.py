"""Backups taken while a replay writes restore to exactly the books of their moment, on SQLite
and PostgreSQL; damaged backups are refused and leave the target untouched."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from rampart.backup.create import create_backup
from rampart.backup.destinations import DirectoryDestination
from rampart.backup.errors import BackupError
from rampart.backup.restore import restore_backup, restore_drill, verify_backup
from rampart.store import ops_records
from rampart.store.db import open_database
from rampart.store.writer import StoreWriter

from .conftest import read_books, replay

HANDSHAKES = (9, 11)
"""After these writes the replay waits until a backup has started, then goes on writing (the
first orders are in the 9th: the trend agent warms 117 candles, checkpoints come every 40; of
19 writes, 8 follow the last, so a backup slow to begin still finds the books mid-replay)."""


NewPg = Callable[[str], str] | None


def _target_for(db_url: str, tmp_path: Path, new_pg: NewPg, tag: str) -> str:
    if db_url.startswith("sqlite"):
        return f"sqlite:///{tmp_path / f'restored-{tag}.db'}"
    assert new_pg is not None
    return new_pg(tag)


@pytest.fixture
def new_target(request: pytest.FixtureRequest, db_url: str) -> NewPg:
    return None if db_url.startswith("sqlite") else request.getfixturevalue("new_pg_url")


def test_backups_taken_while_a_replay_writes_restore_the_books_of_their_moment(
    db_url: str,
    tmp_path: Path,
    key: bytes,
    dest: DirectoryDestination,
    new_target: NewPg,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The source's books after every committed write: the only states a consistent backup
    # can hold. The writer is the only one writing the books, so reading right after its
    # commit, in its own thread, sees exactly that state.
    states: list[dict[str, list[tuple[Any, ...]]]] = []
    writes = 0
    reached = {n: threading.Event() for n in HANDSHAKES}
    started = {n: threading.Event() for n in HANDSHAKES}
    original = StoreWriter.write

    def write(self: StoreWriter, batch: Any, checkpoint: Any = None) -> int:
        nonlocal writes
        done = original(self, batch, checkpoint)
        states.append(read_books(self.engine))
        writes += 1
        if writes in reached:
            reached[writes].set()
            assert started[writes].wait(60)
        return done

    monkeypatch.setattr(StoreWriter, "write", write)
    failure: list[BaseException] = []

    def run() -> None:
        try:
            replay(db_url, tmp_path / "out", checkpoint_every=40)
        except BaseException as exc:  # handed to the test thread
            failure.append(exc)
            for event in reached.values():
                event.set()

    writer = threading.Thread(target=run)
    writer.start()
    taken = []
    for n in HANDSHAKES:
        assert reached[n].wait(120)
        if failure:
            break
        started[n].set()  # the replay writes on while this backup runs
        taken.append(create_backup(db_url, key, dest, 1_700_000_000_000 + n, actor="test"))
    writer.join(120)
    if failure:
        raise failure[0]
    final = states[-1]
    assert len(taken) == len(HANDSHAKES) and writes > max(HANDSHAKES) + 2

    for info in taken:
        target = _target_for(db_url, tmp_path, new_target, info.name[-10:-4])
        report = restore_backup(dest.path / info.name, key, target, 1_700_000_000_999)
        assert report.ok, report.rows
        engine = open_database(target)
        try:
            restored = read_books(engine)
            drill = ops_records.last_event(engine, ops_records.RESTORE_DRILL)
        finally:
            engine.dispose()
        # A real moment of the source, mid-replay (not its start, not its end) ...
        same_checkpoint = [s for s in states if s["checkpoints"] == restored["checkpoints"]]
        assert same_checkpoint and restored["orders"] and restored != final
        # ... and exactly the books the source held at that moment.
        assert restored in same_checkpoint
        assert info.manifest["tables"]["orders"] == len(restored["orders"])
        assert info.manifest["tables"]["fills"] == len(restored["fills"])
        assert drill is not None and drill.detail["ok"] is True
        assert drill.detail["duration_s"] >= 0


def _snapshot_of_target(target: str) -> Any:
    url = make_url(target)
    if url.get_backend_name() == "sqlite":
        path = Path(url.database or "")
        if not path.exists():
            return None
        return path.read_bytes(), path.stat().st_mtime_ns
    from rampart.backup.pg_dump import count_tables, database_exists

    return count_tables(url) if database_exists(url) else None


def _damaged(good: bytes, kind: str, other_key: bytes) -> tuple[bytes, bytes | None]:
    if kind == "tampered":
        bad = bytearray(good)
        bad[len(good) // 2] ^= 0x40
        return bytes(bad), None
    if kind == "truncated":
        return good[: len(good) * 2 // 3], None
    if kind == "garbage":
        return os.urandom(len(good) // 4 + 100), None
    if kind == "manifest":
        return good.replace(b'"schema_revision":"', b'"schema_revision":"9', 1), None
    return good, other_key


KINDS = {
    "tampered": "altered",
    "truncated": "truncated",
    "garbage": "not a Rampart backup",
    "wrong key": "another backup key",
    "manifest": "manifest",
}


@pytest.mark.parametrize("existing", [False, True], ids=["new target", "existing target"])
def test_damaged_backups_are_refused_and_the_target_is_untouched(
    db_url: str,
    tmp_path: Path,
    key: bytes,
    dest: DirectoryDestination,
    new_target: NewPg,
    existing: bool,
) -> None:
    replay(db_url, tmp_path / "out")
    good = dest.path / create_backup(db_url, key, dest, 1_700_000_000_000).name
    target = _target_for(db_url, tmp_path, new_target, "t")
    if existing:
        restore_backup(good, key, target, 1)  # a database that holds data already
    before = _snapshot_of_target(target)
    assert (before is not None) == existing
    other_key = os.urandom(32)
    for kind, words in KINDS.items():
        data, wrong = _damaged(good.read_bytes(), kind, other_key)
        bad = tmp_path / f"bad-{kind.replace(' ', '-')}.rbk"
        bad.write_bytes(data)
        with pytest.raises(BackupError) as caught:
            restore_backup(bad, wrong or key, target, 2, force=True)
        assert words in caught.value.message, (kind, caught.value.message)
        assert caught.value.message.endswith(".")
        with pytest.raises(BackupError):
            verify_backup(bad, wrong or key)
        assert _snapshot_of_target(target) == before, kind
    leftovers = [p.name for p in tmp_path.iterdir() if ".restore-" in p.name]
    assert leftovers == []


def test_an_existing_target_is_refused_without_force_and_kept_with_it(
    tmp_path: Path, key: bytes, dest: DirectoryDestination
) -> None:
    source = f"sqlite:///{tmp_path / 'src.db'}"
    replay(source, tmp_path / "out")
    good = dest.path / create_backup(source, key, dest, 1_700_000_000_000).name
    target = tmp_path / "live.db"
    target.write_bytes(b"precious")
    with pytest.raises(BackupError, match="already exists"):
        restore_backup(good, key, f"sqlite:///{target}", 1)
    assert target.read_bytes() == b"precious"
    report = restore_backup(good, key, f"sqlite:///{target}", 1, force=True)
    assert report.ok and report.replaced is not None
    assert report.replaced.read_bytes() == b"precious"
    engine = open_database(f"sqlite:///{target}")
    try:
        with engine.connect() as conn:
            orders = conn.execute(sa.text("SELECT count(*) FROM orders")).scalar_one()
    finally:
        engine.dispose()
    assert orders == report.manifest["tables"]["orders"] > 0


def test_verify_and_the_restore_drill_record_it_in_the_live_database(
    db_url: str, tmp_path: Path, key: bytes, dest: DirectoryDestination
) -> None:
    replay(db_url, tmp_path / "out")
    live = open_database(db_url)
    try:
        info = create_backup(db_url, key, dest, 1_700_000_000_000, record_in=live)
        created = ops_records.last_event(live, ops_records.BACKUP_CREATED)
    finally:
        live.dispose()
    assert created is not None and created.detail["name"] == info.name
    assert created.detail["rows"] == info.rows > 0
    path = dest.path / info.name
    checked = verify_backup(path, key)
    assert checked.trailer.payload_bytes > 0
    report = restore_drill(path, key, db_url, 1_700_000_100_000)
    assert report.ok and "scratch" in report.target
    live = open_database(db_url)
    try:
        drill = ops_records.last_event(live, ops_records.RESTORE_DRILL)
    finally:
        live.dispose()
    assert drill is not None and drill.ts == 1_700_000_100_000
    assert drill.detail["ok"] is True and drill.detail["name"] == path.name
    assert drill.detail["rows"] == sum(report.manifest["tables"].values())

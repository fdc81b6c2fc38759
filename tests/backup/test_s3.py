"""Backups in an S3-compatible bucket: a local S3 server (moto) on 127.0.0.1 stands in for it,
and the real boto3 client talks to it. Create, list, verify, restore and prune go through the
bucket exactly as through a directory."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from rampart.backup.create import create_backup, destination_for, prune
from rampart.backup.destinations import S3Destination
from rampart.backup.errors import BackupError
from rampart.backup.restore import restore_backup, verify_backup
from rampart.config import BackupConfig
from rampart.store.db import open_database

from .conftest import read_books, replay

boto3 = pytest.importorskip("boto3", reason="boto3 is needed for S3 backups")
server = pytest.importorskip("moto.server", reason="moto's S3 server is the local stand-in")

BUCKET = "rampart-backups"
DAY_MS = 86_400_000


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def aws_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    """Credentials of boto3's usual kind, so no test depends on another having set them."""
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)


@pytest.fixture
def s3_url(aws_keys: None) -> Iterator[str]:
    port = _free_port()
    moto = server.ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    moto.start()
    url = f"http://127.0.0.1:{port}"
    boto3.client("s3", endpoint_url=url).create_bucket(Bucket=BUCKET)
    try:
        yield url
    finally:
        moto.stop()


def test_backups_go_to_the_bucket_and_restore_from_it(
    tmp_path: Path, key: bytes, s3_url: str
) -> None:
    source = f"sqlite:///{tmp_path / 'source.db'}"
    replay(source, tmp_path / "out")
    cfg = BackupConfig(
        dir=tmp_path / "staging", s3_bucket=BUCKET, s3_prefix="prod/", s3_endpoint_url=s3_url
    )
    dest = destination_for(cfg)
    assert isinstance(dest, S3Destination)

    day0 = 1_767_225_600_000  # 2026-01-01
    made = [create_backup(source, key, dest, day0 + i * DAY_MS) for i in range(3)]
    listed = boto3.client("s3", endpoint_url=s3_url).list_objects_v2(Bucket=BUCKET)
    keys = sorted(o["Key"] for o in listed["Contents"])
    assert keys == sorted(f"prod/{b.name}" for b in made)
    assert dest.names() == sorted(b.name for b in made)
    assert not list((tmp_path / "staging").glob("*.partial")), "no staged file is left behind"

    newest = made[-1].name
    with dest.local(newest) as path:
        checked = verify_backup(path, key)
        assert checked.name == newest
        target = f"sqlite:///{tmp_path / 'restored.db'}"
        report = restore_backup(path, key, target, day0 + 3 * DAY_MS)
    assert report.seconds >= 0
    src, out = open_database(source), open_database(target)
    try:
        assert read_books(out) == read_books(src)
    finally:
        src.dispose()
        out.dispose()

    # Keep the last one: the two older ones leave the bucket.
    pruned = prune(dest, day0 + 3 * DAY_MS, keep_last=1, keep_daily_days=0)
    assert sorted(pruned) == sorted(b.name for b in made[:2])
    assert dest.names() == [newest]


def test_a_missing_bucket_is_a_sentence_and_nothing_is_left(
    tmp_path: Path, key: bytes, s3_url: str
) -> None:
    source = f"sqlite:///{tmp_path / 'source.db'}"
    open_database(source).dispose()
    staging = tmp_path / "staging"
    cfg = BackupConfig(dir=staging, s3_bucket="no-such-bucket", s3_endpoint_url=s3_url)
    with pytest.raises(BackupError) as raised:
        create_backup(source, key, destination_for(cfg), 1_767_225_600_000)
    assert "no-such-bucket" in raised.value.message and "\n" not in raised.value.message
    assert list(staging.iterdir()) == [], "the staged file is removed"
    with pytest.raises(BackupError, match="no-such-bucket"):
        destination_for(cfg).names()


def test_an_unreachable_endpoint_is_a_sentence(tmp_path: Path, key: bytes, aws_keys: None) -> None:
    # The port stays bound, never listening, for the whole test: a connection is refused, and
    # no other test's server running beside this one can take the port in between (CI saw the
    # freed port answer as something else).
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        cfg = BackupConfig(
            dir=tmp_path / "staging",
            s3_bucket=BUCKET,
            s3_endpoint_url=f"http://127.0.0.1:{held.getsockname()[1]}",
        )
        with pytest.raises(BackupError, match="cannot be reached"):
            destination_for(cfg).names()

"""The backup file format: round trips, and every kind of damage refused in one sentence."""

from __future__ import annotations

import io
import os
import secrets

import pytest

from rampart.backup import archive
from rampart.backup.archive import Encryptor, decrypt, header_of
from rampart.backup.errors import BackupError

MANIFEST = {"backend": "sqlite", "tables": {"orders": 3}, "created_at": 1}


def _seal(key: bytes, payload: bytes, chunk: int = 1000) -> bytes:
    out = io.BytesIO()
    old = archive.CHUNK_BYTES
    archive.CHUNK_BYTES = chunk  # small chunks: many blocks from a small payload
    try:
        enc = Encryptor(out, key, MANIFEST)
        for i in range(0, len(payload), 333):
            enc.write(payload[i : i + 333])
        enc.close()
    finally:
        archive.CHUNK_BYTES = old
    return out.getvalue()


def _open(key: bytes, data: bytes) -> bytes:
    got = bytearray()
    decrypt(io.BytesIO(data), key, "b.rbk", got.extend)
    return bytes(got)


@pytest.mark.parametrize("size", [0, 1, 999, 1000, 1001, 7777])
def test_round_trip_any_size(size: int) -> None:
    key = secrets.token_bytes(32)
    payload = os.urandom(size)
    sealed = _seal(key, payload)
    assert _open(key, sealed) == payload
    assert size < 64 or payload[:64] not in sealed


def test_two_files_of_one_payload_differ_and_header_keeps_no_key(tmp_path) -> None:
    key = secrets.token_bytes(32)
    a, b = _seal(key, b"x" * 5000), _seal(key, b"x" * 5000)
    assert a != b  # a fresh salt, so a fresh file key, per backup
    path = tmp_path / "a.rbk"
    path.write_bytes(a)
    header = header_of(path)
    assert header.manifest == MANIFEST
    assert key.hex() not in a.decode("latin-1") and key not in a


def _refused(key: bytes, data: bytes) -> str:
    with pytest.raises(BackupError) as caught:
        _open(key, data)
    return caught.value.message


def test_damage_is_refused_with_a_sentence_naming_it() -> None:
    key = secrets.token_bytes(32)
    good = _seal(key, os.urandom(5000))
    middle = bytearray(good)
    middle[len(good) // 2] ^= 0x01
    assert "altered or damaged" in _refused(key, bytes(middle))
    for cut in (len(good) - 1, len(good) - 60, len(good) // 2, 30):
        assert "truncated" in _refused(key, good[:cut])
    assert "not a Rampart backup" in _refused(key, os.urandom(4000))
    assert "another backup key" in _refused(secrets.token_bytes(32), good)
    assert "extra bytes" in _refused(key, good + b"\0" * 40)


def test_a_truncation_at_a_block_boundary_is_caught() -> None:
    """Dropping whole blocks (the trailer among them) leaves a well-formed prefix."""
    key = secrets.token_bytes(32)
    good = _seal(key, os.urandom(3000))
    start = len(archive.MAGIC) + 4 + int.from_bytes(good[8:12], "big")
    offsets = []
    pos = start
    while pos < len(good):
        offsets.append(pos)
        pos += 4 + int.from_bytes(good[pos : pos + 4], "big")
    for boundary in offsets[1:]:
        assert "truncated" in _refused(key, good[:boundary])


def test_an_edited_manifest_is_refused() -> None:
    key = secrets.token_bytes(32)
    good = _seal(key, b"payload" * 100)
    edited = good.replace(b'"orders":3', b'"orders":4')
    assert edited != good
    assert "manifest" in _refused(key, edited)

"""The backup file: a streamed, chunked AES-256-GCM container with an authenticated header.

Layout::

    MAGIC (8 bytes) | header length (4, big-endian) | header (JSON, UTF-8)
    then chunks: ciphertext length (4, big-endian) | ciphertext with its 16-byte GCM tag

The header carries the manifest in clear text (``backup list`` needs no key) and is
authenticated as associated data of every chunk, so an edited manifest is refused. Each
file is encrypted under its own key, derived with HKDF from the backup key and a random salt
in the header, so the chunk nonces can be a plain counter: 11 bytes of chunk index and one
byte that is 1 only on the last chunk. The last chunk holds the trailer (payload length and
SHA-256); a file that stops before it is truncated, a reordered or replayed chunk fails its
tag, and bytes after it are refused. Memory use is one chunk, whatever the payload's size.

The header may also carry the effective configuration (secrets already masked by whoever
made the backup), sealed on its own under a key derived from the same salt for another
purpose, so ``backup list`` shows that a backup has one but only the key opens it.
"""

from __future__ import annotations

import hashlib
import json
import os
import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from rampart.backup.errors import BackupError

MAGIC = b"RMPBAK1\n"
FORMAT = 1
CHUNK_BYTES = 1 << 20
TAG_BYTES = 16
SALT_BYTES = 16
KEY_BYTES = 32
MAX_HEADER_BYTES = 1 << 20
NONCE_BYTES = 12
CONFIG_AAD = b"rampart backup: effective configuration, secrets masked"
_LEN = struct.Struct(">I")


def key_id(key: bytes) -> str:
    """A fingerprint naming the backup key in headers and messages (never the key itself)."""
    return hashlib.sha256(b"rampart-backup-key-id:" + key).hexdigest()[:16]


def _file_key(key: bytes, salt: bytes) -> AESGCM:
    hkdf = HKDF(algorithm=hashes.SHA256(), length=KEY_BYTES, salt=salt, info=b"rampart backup v1")
    return AESGCM(hkdf.derive(key))


def _config_key(key: bytes, salt: bytes) -> AESGCM:
    hkdf = HKDF(
        algorithm=hashes.SHA256(), length=KEY_BYTES, salt=salt, info=b"rampart backup config v1"
    )
    return AESGCM(hkdf.derive(key))


def _nonce(index: int, final: bool) -> bytes:
    return index.to_bytes(11, "big") + (b"\x01" if final else b"\x00")


@dataclass(frozen=True, slots=True)
class Header:
    raw: bytes
    """The header exactly as stored: what every chunk authenticates."""
    fields: dict[str, Any]

    @property
    def manifest(self) -> dict[str, Any]:
        return dict(self.fields.get("manifest") or {})

    @property
    def key_id(self) -> str:
        return str(self.fields.get("key_id", ""))


@dataclass(frozen=True, slots=True)
class Trailer:
    payload_bytes: int
    payload_sha256: str
    chunks: int


class Encryptor:
    """Writes a backup file chunk by chunk: ``write`` plaintext, then ``close``."""

    def __init__(
        self,
        out: BinaryIO,
        key: bytes,
        manifest: dict[str, Any],
        config: dict[str, Any] | None = None,
    ) -> None:
        salt = os.urandom(SALT_BYTES)
        header: dict[str, Any] = {
            "format": FORMAT,
            "cipher": "AES-256-GCM",
            "kdf": "HKDF-SHA256",
            "chunk_bytes": CHUNK_BYTES,
            "salt": salt.hex(),
            "key_id": key_id(key),
            "manifest": manifest,
        }
        if config is not None:
            nonce = os.urandom(NONCE_BYTES)
            plain = json.dumps(config, sort_keys=True).encode()
            sealed = _config_key(key, salt).encrypt(nonce, plain, CONFIG_AAD)
            header["config"] = {"nonce": nonce.hex(), "sealed": sealed.hex()}
        self._raw = json.dumps(header, sort_keys=True, separators=(",", ":")).encode()
        self._aad = hashlib.sha256(MAGIC + self._raw).digest()
        self._aead = _file_key(key, salt)
        self._out = out
        self._buf = bytearray()
        self._index = 0
        self._hash = hashlib.sha256()
        self._bytes = 0
        out.write(MAGIC + _LEN.pack(len(self._raw)) + self._raw)

    def write(self, data: bytes) -> None:
        self._hash.update(data)
        self._bytes += len(data)
        self._buf += data
        while len(self._buf) >= CHUNK_BYTES:
            self._emit(bytes(self._buf[:CHUNK_BYTES]), final=False)
            del self._buf[:CHUNK_BYTES]

    def _emit(self, plain: bytes, *, final: bool) -> None:
        sealed = self._aead.encrypt(_nonce(self._index, final), plain, self._aad)
        self._out.write(_LEN.pack(len(sealed)) + sealed)
        self._index += 1

    def close(self) -> Trailer:
        """Seal what is buffered and the trailer; the file is complete after this."""
        if self._buf:
            self._emit(bytes(self._buf), final=False)
            self._buf.clear()
        trailer = Trailer(self._bytes, self._hash.hexdigest(), self._index + 1)
        body = json.dumps(
            {"bytes": trailer.payload_bytes, "sha256": trailer.payload_sha256}
        ).encode()
        self._emit(body, final=True)
        self._out.flush()
        return trailer


def _read_exact(src: IO[bytes], n: int) -> bytes:
    data = src.read(n)
    return data if data is not None else b""


def read_header(src: IO[bytes], name: str) -> Header:
    """The header of an open backup file, positioned at its first chunk afterwards."""
    start = _read_exact(src, len(MAGIC) + _LEN.size)
    if len(start) < len(MAGIC) + _LEN.size or start[: len(MAGIC)] != MAGIC:
        raise BackupError(
            f"{name} is not a Rampart backup (the file is corrupt or of another kind)."
        )
    (length,) = _LEN.unpack(start[len(MAGIC) :])
    if length > MAX_HEADER_BYTES:
        raise BackupError(f"{name} is corrupt: its header is damaged.")
    raw = _read_exact(src, length)
    if len(raw) < length:
        raise BackupError(f"{name} is truncated: it ends inside its header.")
    try:
        fields = json.loads(raw)
    except (UnicodeDecodeError, ValueError):
        raise BackupError(f"{name} is corrupt: its header is not readable.") from None
    if not isinstance(fields, dict) or fields.get("format") != FORMAT:
        raise BackupError(f"{name} is of an unknown backup format; use a newer Rampart.")
    return Header(raw, fields)


def config_of(header: Header, key: bytes, name: str) -> dict[str, Any] | None:
    """The configuration sealed in ``header`` (None when the backup has none), opened with
    ``key``; a wrong key or an altered configuration is a BackupError."""
    sealed = header.fields.get("config")
    if sealed is None:
        return None
    if header.key_id != key_id(key):
        raise BackupError(f"{name} was encrypted with another backup key; its configuration too.")
    try:
        salt = bytes.fromhex(str(header.fields["salt"]))
        nonce = bytes.fromhex(str(sealed["nonce"]))
        blob = bytes.fromhex(str(sealed["sealed"]))
        plain = _config_key(key, salt).decrypt(nonce, blob, CONFIG_AAD)
        config = json.loads(plain)
    except (KeyError, TypeError, ValueError, InvalidTag):
        raise BackupError(f"{name} is damaged: its configuration cannot be read.") from None
    if not isinstance(config, dict):
        raise BackupError(f"{name} is damaged: its configuration cannot be read.")
    return config


def header_of(path: Path) -> Header:
    with path.open("rb") as src:
        return read_header(src, path.name)


def decrypt(
    src: IO[bytes], key: bytes, name: str, sink: Callable[[bytes], None]
) -> tuple[Header, Trailer]:
    """Authenticate and decrypt a whole backup, handing each plaintext chunk to ``sink``.

    Raises BackupError naming the problem: another key, an altered manifest or chunk, a
    truncated file, trailing bytes, a checksum that does not match.
    """
    header = read_header(src, name)
    if header.key_id != key_id(key):
        raise BackupError(
            f"{name} was encrypted with another backup key (key id {header.key_id}, this "
            f"machine's is {key_id(key)}); set the key it was made with."
        )
    try:
        salt = bytes.fromhex(str(header.fields["salt"]))
    except (KeyError, ValueError):
        raise BackupError(f"{name} is corrupt: its header is damaged.") from None
    aead = _file_key(key, salt)
    aad = hashlib.sha256(MAGIC + header.raw).digest()
    digest = hashlib.sha256()
    total = 0
    for index, sealed, at_end in _chunks(src, name):
        plain, final = _open_chunk(aead, aad, index, sealed, at_end, name)
        if final:
            trailer = _trailer(plain, index + 1, name)
            if trailer.payload_bytes != total or trailer.payload_sha256 != digest.hexdigest():
                raise BackupError(f"{name} is damaged: its checksum does not match its content.")
            return header, trailer
        digest.update(plain)
        total += len(plain)
        sink(plain)
    raise AssertionError("unreachable")  # pragma: no cover - _chunks raises at the end


def _open_chunk(
    aead: AESGCM, aad: bytes, index: int, sealed: bytes, at_end: bool, name: str
) -> tuple[bytes, bool]:
    """Decrypt one chunk; (plaintext, whether it was sealed as the last one).

    The last-chunk flag is inside the nonce, so it cannot be forged: a chunk at the end of
    the file is tried as the last one first, and if it opens only as a middle chunk the file
    was cut short after it.
    """
    for final in (True, False) if at_end else (False,):
        try:
            return aead.decrypt(_nonce(index, final), sealed, aad), final
        except InvalidTag:
            continue
    if not at_end:
        try:
            aead.decrypt(_nonce(index, True), sealed, aad)
        except InvalidTag:
            pass
        else:
            raise BackupError(f"{name} is damaged: it has extra bytes after its end.")
    if index == 0:
        raise BackupError(
            f"{name} was altered: its manifest or its first block does not match its signature."
        )
    raise BackupError(
        f"{name} was altered or damaged: block {index + 1} does not match its signature."
    )


def _chunks(src: IO[bytes], name: str) -> Iterator[tuple[int, bytes, bool]]:
    """(index, sealed chunk, whether the file ends after it); a missing end is truncation."""
    index = 0
    limit = CHUNK_BYTES + TAG_BYTES
    while True:
        head = _read_exact(src, _LEN.size)
        if not head:
            raise BackupError(f"{name} is truncated: it stops before its end.")
        if len(head) < _LEN.size:
            raise BackupError(f"{name} is truncated: it stops inside a block.")
        (length,) = _LEN.unpack(head)
        if length < TAG_BYTES or length > limit:
            raise BackupError(f"{name} is damaged: block {index + 1} has an impossible size.")
        sealed = _read_exact(src, length)
        if len(sealed) < length:
            raise BackupError(f"{name} is truncated: it stops inside block {index + 1}.")
        yield index, sealed, _at_end(src)
        index += 1


def _at_end(src: IO[bytes]) -> bool:
    """Whether the file ends here (peeked without consuming)."""
    pos = src.tell()
    more = src.read(1)
    src.seek(pos)
    return not more


def _trailer(plain: bytes, chunks: int, name: str) -> Trailer:
    try:
        data = json.loads(plain)
        return Trailer(int(data["bytes"]), str(data["sha256"]), chunks)
    except (ValueError, KeyError, TypeError):
        raise BackupError(f"{name} is damaged: its trailer is not readable.") from None

"""Exchange credentials encrypted at rest with AES-GCM under a master key.

Each value gets a fresh random 96-bit nonce. The associated data names the account and the
exchange, so a ciphertext copied onto another account's row fails to open. The master key comes
from ``settings.master_key`` (``RAMPART_MASTER_KEY``): 32 bytes written as 64 hex digits or as
URL-safe base64, or ``file:/path`` naming a file that holds such a key; or, when ``vault.url`` is
set instead, from HashiCorp Vault (:mod:`rampart.security.vault`). ``key_id`` is a short
fingerprint of the key (not the key), stored beside each value so rotation can tell what is left.

Every failure is a :class:`SecretsError` with one sentence that never quotes key material.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from pydantic import SecretStr

from rampart.domain.errors import ConfigError, RampartError, present

if TYPE_CHECKING:
    from rampart.security.settings import VaultConfig

NONCE_BYTES = 12
KEY_BYTES = 32


class SecretsError(RampartError):
    """Credentials could not be sealed or opened (wrong key, tampered value, bad key text)."""


@dataclass(frozen=True, slots=True)
class Credentials:
    exchange: str
    api_key: str = field(repr=False)
    secret: str = field(repr=False)

    def masked_key(self) -> str:
        """Enough to recognise a key in a reply, never enough to use it."""
        return f"…{self.api_key[-4:]}" if len(self.api_key) > 8 else "…"


@dataclass(frozen=True, slots=True)
class Sealed:
    ciphertext: bytes
    nonce: bytes
    key_id: str


def generate_key() -> str:
    """A new master key as 64 hex digits (for ``RAMPART_MASTER_KEY`` or a key file)."""
    return secrets.token_hex(KEY_BYTES)


def decode_key(text: str, what: str = "master key") -> bytes:
    """A 32-byte key written as 64 hex digits or URL-safe base64; a sentence naming ``what``
    when it is neither."""
    text = text.strip()
    if len(text) == 2 * KEY_BYTES:
        try:
            return bytes.fromhex(text)
        except ValueError:
            pass
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != KEY_BYTES:
        raise ConfigError(
            f"The {what} must be 32 bytes written as 64 hex digits or URL-safe base64 "
            "(make one with `rampart secrets generate`)."
        )
    return raw


class KeyBox:
    """Seals and opens credentials under one master key."""

    def __init__(self, key: bytes) -> None:
        if len(key) != KEY_BYTES:
            raise ConfigError("The master key must be exactly 32 bytes.")
        self._aead = AESGCM(key)
        self.key_id = hashlib.sha256(b"rampart-key-id:" + key).hexdigest()[:16]

    def __repr__(self) -> str:
        return f"KeyBox(key_id={self.key_id!r})"

    @classmethod
    def from_text(cls, value: str | SecretStr) -> KeyBox:
        text = value.get_secret_value() if isinstance(value, SecretStr) else value
        text = text.strip()
        if text.startswith("file:"):
            return cls.from_file(Path(text.removeprefix("file:")))
        return cls(decode_key(text))

    @classmethod
    def from_file(cls, path: Path) -> KeyBox:
        try:
            text = path.read_text(encoding="utf-8")
        except OSError:
            raise ConfigError(f"The master key file {str(path)!r} cannot be read.") from None
        return cls(decode_key(text))

    @staticmethod
    def _aad(account_id: str, exchange: str) -> bytes:
        return f"rampart:credentials:{account_id}:{exchange}".encode()

    def seal(self, account_id: str, creds: Credentials) -> Sealed:
        nonce = os.urandom(NONCE_BYTES)
        body = json.dumps({"api_key": creds.api_key, "secret": creds.secret}).encode()
        ct = self._aead.encrypt(nonce, body, self._aad(account_id, creds.exchange))
        return Sealed(ct, nonce, self.key_id)

    def open(self, account_id: str, exchange: str, sealed: Sealed) -> Credentials:
        if sealed.key_id != self.key_id:
            raise SecretsError(
                f"The credentials of {account_id} were sealed under another master key; "
                "set the key they were saved with."
            )
        try:
            body = self._aead.decrypt(
                sealed.nonce, sealed.ciphertext, self._aad(account_id, exchange)
            )
            data: dict[str, Any] = json.loads(body)
            return Credentials(exchange, str(data["api_key"]), str(data["secret"]))
        except (InvalidTag, ValueError, KeyError, TypeError):
            raise SecretsError(
                f"The stored credentials of {account_id} do not open with this master key: "
                "the key is wrong or the value was altered."
            ) from None


def load_key_box(master_key: SecretStr | str | None, vault: VaultConfig | None = None) -> KeyBox:
    """The key box from settings: ``master_key`` (text or ``file:/path``), else Vault when
    ``vault.url`` is set; a plain sentence when neither is, or when both are."""
    text = master_key.get_secret_value() if isinstance(master_key, SecretStr) else master_key
    from_vault = vault is not None and bool(vault.url)
    if text is not None and text.strip():
        if from_vault:
            raise ConfigError(
                "Both RAMPART_MASTER_KEY and vault.url are set; keep the master key in one place."
            )
        return KeyBox.from_text(text)
    if from_vault:
        from rampart.security.vault import read_master_key

        return KeyBox.from_text(read_master_key(present(vault, "the Vault settings")))
    raise ConfigError(
        "No master key is set: set RAMPART_MASTER_KEY (64 hex digits, or file:/path) or "
        "vault.url before saving exchange credentials."
    )


def key_configured(master_key: SecretStr | str | None, vault: VaultConfig | None) -> bool:
    """Whether settings name a master key at all (the bot runs without one, refusing keys)."""
    return master_key is not None or (vault is not None and bool(vault.url))

"""Which key encrypts backups: ``backup.key`` when set, else the master key.

The text is read like the master key (64 hex digits, URL-safe base64, or ``file:/path``).
Each backup file is encrypted under its own key derived from this one (see ``archive``), so
the master key itself never touches backup data. The key is never written into a backup or a
log: headers carry only its fingerprint.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import SecretStr

from rampart.backup.errors import BackupError
from rampart.domain.errors import ConfigError
from rampart.security.secrets import decode_key

if TYPE_CHECKING:
    from rampart.security.settings import VaultConfig


def _decode(text: str, source: str) -> bytes:
    try:
        return decode_key(text, source)
    except ConfigError as err:
        raise BackupError(err.message) from None


def key_from_text(value: SecretStr | str, source: str = "backup key") -> bytes:
    text = value.get_secret_value() if isinstance(value, SecretStr) else value
    text = text.strip()
    if text.startswith("file:"):
        path = Path(text.removeprefix("file:"))
        try:
            text = path.read_text(encoding="utf-8")
        except OSError:
            raise BackupError(f"The {source} file {str(path)!r} cannot be read.") from None
    return _decode(text, source)


def backup_key(
    backup_key_text: SecretStr | None,
    master_key: SecretStr | None,
    vault: VaultConfig | None = None,
) -> bytes:
    """The key from settings (``backup.key``, else ``master_key``, else the master key held in
    Vault when ``vault.url`` is set); a sentence when there is none."""
    for value, source in ((backup_key_text, "backup key"), (master_key, "master key")):
        if value is not None and value.get_secret_value().strip():
            return key_from_text(value, source)
    if vault is not None and vault.url:
        from rampart.security.vault import read_master_key

        return key_from_text(read_master_key(vault), "master key held in Vault")
    raise BackupError(
        "No backup key is set: set RAMPART_BACKUP__KEY or RAMPART_MASTER_KEY (64 hex digits, "
        "or file:/path) before making or reading backups."
    )

"""``vault:`` settings: where the master key is read from HashiCorp Vault."""

from __future__ import annotations

from pydantic import Field, SecretStr

from rampart.settings_base import Section


class VaultConfig(Section):
    """The master key from HashiCorp Vault's KV v2 engine (used when ``url`` is set)."""

    url: str | None = None
    token: SecretStr | None = None
    """Else ``VAULT_TOKEN``."""
    mount: str = "secret"
    path: str = "rampart/master-key"
    field: str = "master_key"
    timeout_s: float = Field(default=5.0, gt=0)


__all__ = ["VaultConfig"]

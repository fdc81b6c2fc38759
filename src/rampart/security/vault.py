"""The master key read from HashiCorp Vault's KV v2 secrets engine, with hvac.

Rampart only reads: the token the service holds should be allowed ``read`` on one path and
nothing else. Writing a new key there is the operator's step after ``rampart secrets rotate``
(see docs/operations/deploy.md). Every failure is one sentence that names the address and the
path, never the token or the key.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import requests

from rampart.domain.errors import ConfigError
from rampart.extras import require

if TYPE_CHECKING:
    from rampart.security.settings import VaultConfig

# hvac comes with the 'vault' extra; only the Vault key source imports this module.
hvac = require("vault", "hvac")
hvac_errors = require("vault", "hvac.exceptions")


def read_master_key(vault: VaultConfig) -> str:
    """The key text held at ``vault.mount``/``vault.path`` under ``vault.field``."""
    if not vault.url:
        raise ConfigError("Set vault.url to read the master key from Vault.")
    token = vault.token.get_secret_value() if vault.token is not None else ""
    token = token or os.environ.get("VAULT_TOKEN", "")
    if not token:
        raise ConfigError("Set vault.token (or VAULT_TOKEN) to read the master key from Vault.")
    where = f"{vault.mount}/{vault.path} at {vault.url}"
    client = hvac.Client(url=vault.url, token=token, timeout=vault.timeout_s)
    try:
        answer = client.secrets.kv.v2.read_secret_version(
            path=vault.path, mount_point=vault.mount, raise_on_deleted_version=True
        )
    except hvac_errors.Forbidden:
        raise ConfigError(
            f"Vault refused to read {where}: the token is wrong, expired or lacks read access."
        ) from None
    except hvac_errors.InvalidPath:
        raise ConfigError(f"Vault has no secret at {where}.") from None
    except hvac_errors.VaultError as exc:
        raise ConfigError(
            f"Vault could not read {where} ({type(exc).__name__}); check the server."
        ) from None
    except requests.exceptions.RequestException:
        raise ConfigError(f"Vault at {vault.url} cannot be reached.") from None
    finally:
        client.adapter.close()
    data = ((answer or {}).get("data") or {}).get("data") or {}
    value = data.get(vault.field)
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"The Vault secret {vault.mount}/{vault.path} has no {vault.field!r}.")
    return value

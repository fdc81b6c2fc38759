"""``rampart secrets generate|rotate``: the master key that seals exchange credentials."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from rampart.cli.common import ConfigOpt, friendly
from rampart.cli.tokens import _open

console = Console(soft_wrap=True)
secrets_app = typer.Typer(
    help="Master key for exchange credentials: generate one, rotate to a new one.",
    no_args_is_help=True,
)


@secrets_app.command("generate")
@friendly
def generate() -> None:
    """Print a new random master key (64 hex digits). Keep it out of shell history."""
    from rampart.security.secrets import generate_key

    console.print(generate_key())


@secrets_app.command("rotate")
@friendly
def rotate(
    new_key_file: Annotated[
        Path | None,
        typer.Option(
            help="File holding the new key (else RAMPART_NEW_MASTER_KEY).", show_default=False
        ),
    ] = None,
    config: ConfigOpt = None,
) -> None:
    """Re-encrypt every stored credential under a new master key (the current one comes from
    RAMPART_MASTER_KEY or Vault). Nothing changes unless every value opens with the current key.
    With Vault, it prints the `vault kv put` that stores the new key: Rampart never writes it."""
    from rampart.domain.errors import ConfigError
    from rampart.security import secrets as sec
    from rampart.security.credential_store import rotate as reseal

    settings, db = _open(config)
    try:
        old = sec.load_key_box(settings.master_key, settings.vault)
        if new_key_file is not None:
            new = sec.KeyBox.from_file(new_key_file)
        elif os.environ.get("RAMPART_NEW_MASTER_KEY"):
            new = sec.KeyBox.from_text(os.environ["RAMPART_NEW_MASTER_KEY"])
        else:
            raise ConfigError("Give the new key with --new-key-file or RAMPART_NEW_MASTER_KEY.")
        count = reseal(db, old, new)
        from rampart.clock import WallClock
        from rampart.store.audit import AuditLog

        detail = {"credentials": count, "new_key_id": new.key_id}
        AuditLog(db).record(WallClock().now_ms(), "cli", "credential.rotate", "master_key", detail)
    finally:
        db.dispose()
    done = f"Re-encrypted {count} credential{'' if count == 1 else 's'} under key {new.key_id}."
    vault = settings.vault
    if vault.url:
        # Rampart's token only reads; the operator writes the new version with their own.
        source = f"@{new_key_file}" if new_key_file is not None else "-  (paste the new key)"
        console.print(
            f"{done} Now store the new key in Vault, where the service reads it:\n"
            f"  vault kv put -mount={vault.mount} {vault.path} {vault.field}={source}\n"
            "then restart the service. Until then it cannot open these credentials; keep the "
            "new key safe until Vault holds it (rotate again is safe: finished rows are skipped)."
        )
        return
    console.print(f"{done} Now set RAMPART_MASTER_KEY to the new key.")

"""``rampart wallet``: Solana wallets of accounts, sealed under the master key.

The secret never reaches the terminal: create, import and show print the public key only;
import reads the secret from a file or from stdin (``--secret-stdin``), never from an argument
(which would sit in shell history and in ``ps``). ``export`` writes it to a new 0600 file.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from rampart.cli.common import ConfigOpt, friendly, recorded_now_ms
from rampart.cli.secrets import rotate as rotate_master_key
from rampart.cli.tables import Col, print_json, print_listing
from rampart.cli.tokens import _audit, _open, _store, _when
from rampart.clock import WallClock

console = Console(soft_wrap=True)
wallet_app = typer.Typer(
    help="Solana wallets: create, import, show, export, back up and restore (keys sealed "
    "under the master key).",
    no_args_is_help=True,
)
AccountArg = Annotated[str, typer.Argument(help="The account the wallet belongs to.")]
ReplaceOpt = Annotated[
    bool,
    typer.Option(
        "--replace", help="Replace the credentials the account holds (back them up first)."
    ),
]
DirOpt = Annotated[
    Path | None,
    typer.Option(
        "--dir",
        help="Backup folder (default: backup.dir); wallet-key backups are in its wallet-keys/.",
        show_default=False,
    ),
]


def _stored(verb: str, wallet: Any) -> None:
    console.print(
        f"{verb} the Solana wallet of {wallet.account_id}: public key {wallet.pubkey} "
        f"(sealed under master key {wallet.key_id}). Fund it by sending SOL for network fees "
        "and the tokens it trades to this address."
    )


@wallet_app.command("create")
@friendly
def create(account: AccountArg, replace: ReplaceOpt = False, config: ConfigOpt = None) -> None:
    """Make a new keypair for ACCOUNT and store it encrypted; prints the public key only."""
    from rampart.security import wallets

    with _store(config) as (_, db, box):
        wallet = wallets.create_wallet(db, box, account, WallClock().now_ms(), replace=replace)
        _audit(db, "wallet.create", wallet.account_id, pubkey=wallet.pubkey)
    _stored("Created", wallet)


@wallet_app.command("import")
@friendly
def import_(
    account: AccountArg,
    file: Annotated[
        Path | None,
        typer.Option(
            "--file",
            help="A solana-keygen keypair file (JSON list of 64 numbers).",
            show_default=False,
        ),
    ] = None,
    secret_stdin: Annotated[
        bool,
        typer.Option(
            "--secret-stdin", help="Read the base58 secret (64 bytes) from stdin instead."
        ),
    ] = False,
    replace: ReplaceOpt = False,
    config: ConfigOpt = None,
) -> None:
    """Store an existing keypair as ACCOUNT's wallet (checked: 64 bytes, halves that match)."""
    from rampart.domain.errors import RampartError
    from rampart.security import wallets

    if (file is None) == (not secret_stdin):
        raise RampartError("Give the keypair with --file PATH or --secret-stdin (one of them).")
    if file is not None:
        keypair = wallets.read_keypair_file(file)
    else:
        keypair = wallets.keypair_from_text(typer.get_text_stream("stdin").read())
    with _store(config) as (_, db, box):
        wallet = wallets.store_keypair(
            db, box, account, keypair, WallClock().now_ms(), replace=replace
        )
        _audit(db, "wallet.import", wallet.account_id, pubkey=wallet.pubkey)
    _stored("Imported", wallet)


@wallet_app.command("show")
@friendly
def show(account: AccountArg, config: ConfigOpt = None) -> None:
    """ACCOUNT's wallet: public key, the master key that seals it, when it was stored."""
    from rampart.domain.errors import RampartError
    from rampart.security import wallets

    with _store(config) as (_, db, box):
        wallet = wallets.show_wallet(db, box, account)
    if wallet is None:
        raise RampartError(
            f"Account {account} has no Solana wallet; make one with `rampart wallet create`."
        )
    table = Table(show_header=False)
    table.add_row("account", wallet.account_id)
    table.add_row("public key", wallet.pubkey)
    table.add_row("master key id", wallet.key_id)
    table.add_row("created (UTC)", _when(wallet.created_at))
    console.print(table)


@wallet_app.command("list")
@friendly
def list_(
    as_json: Annotated[bool, typer.Option("--json", help="Print the rows as JSON.")] = False,
    config: ConfigOpt = None,
) -> None:
    """Accounts with a stored wallet (no key needed; `show` opens one for its public key)."""
    from rampart.security import wallets

    settings, db = _open(config)
    try:
        found = wallets.list_wallets(db)
    finally:
        db.dispose()
    del settings
    if as_json:
        print_json([{"account": a, "key_id": k, "created_at": c} for a, k, c in found])
        return
    if not found:
        console.print("No Solana wallets are stored.")
        return
    columns = [Col("account", key=True), Col("master key id", key=True), Col("created (UTC)")]
    print_listing(console, columns, ([a, k, _when(c)] for a, k, c in found))


@wallet_app.command("export")
@friendly
def export(
    account: AccountArg,
    file: Annotated[
        Path, typer.Option("--file", help="A new file to write (solana-keygen format, 0600).")
    ],
    config: ConfigOpt = None,
) -> None:
    """Write ACCOUNT's keypair to a new file, for an offline backup or a wallet app."""
    from rampart.security import wallets

    with _store(config) as (_, db, box):
        wallet = wallets.export_keypair(db, box, account, file)
        _audit(db, "wallet.export", wallet.account_id, pubkey=wallet.pubkey, file=str(file))
    console.print(
        f"Wrote the keypair of {wallet.account_id} ({wallet.pubkey}) to {file}. Whoever holds "
        "this file controls the wallet: keep it offline."
    )


# The master key seals wallets like every other credential: one rotation re-seals them all.
wallet_app.command(
    "rotate",
    help="Re-encrypt every stored credential, wallets included, under a new master key "
    "(the same as `rampart secrets rotate`). The keypairs themselves do not change.",
)(rotate_master_key)


@wallet_app.command("backup")
@friendly
def backup(directory: DirOpt = None, config: ConfigOpt = None) -> None:
    """Back up the wallet keys now (the daily wallet-keys job does it on `rampart run`)."""
    from rampart.backup.keys import backup_key
    from rampart.backup.wallet_keys import create_wallet_backup, wallet_destination

    settings, db = _open(config)
    try:
        key = backup_key(settings.backup.key, settings.master_key, settings.vault)
        dest = wallet_destination(settings.backup, directory)
        info = create_wallet_backup(db, key, dest, recorded_now_ms(db))
    finally:
        db.dispose()
    if info is None:
        console.print("No Solana wallets are stored: nothing to back up.")
        return
    console.print(f"Backup {info.name} written to {info.where}: {info.rows} wallets.")


@wallet_app.command("restore")
@friendly
def restore(
    backup: Annotated[
        str, typer.Argument(help="A wallet-key backup file, its name, or 'latest'.")
    ] = "latest",
    replace: ReplaceOpt = False,
    directory: DirOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Put the wallets of a wallet-key backup back into the store (accounts holding other
    credentials are kept unless --replace)."""
    from rampart.backup.errors import BackupError
    from rampart.backup.keys import backup_key
    from rampart.backup.wallet_keys import restore_wallet_backup, wallet_destination
    from rampart.security.secrets import load_key_box

    settings, db = _open(config)
    try:
        key = backup_key(settings.backup.key, settings.master_key, settings.vault)
        dest = wallet_destination(settings.backup, directory)
        with contextlib.ExitStack() as stack:
            path = Path(backup)
            if backup == "latest" or not path.is_file():
                names = dest.names()
                if backup == "latest":
                    if not names:
                        raise BackupError(f"There are no wallet-key backups in {dest.label}.")
                    backup = names[-1]
                elif backup not in names:
                    raise BackupError(f"There is no wallet-key backup {backup} in {dest.label}.")
                path = stack.enter_context(dest.local(backup))
            report = restore_wallet_backup(path, key, db, WallClock().now_ms(), replace=replace)
    finally:
        db.dispose()
    said = [f"Restored {len(report.restored)} wallets from {report.name}"]
    if report.unchanged:
        said.append(f"{len(report.unchanged)} were already in place")
    if report.kept:
        said.append(
            "kept the credentials these accounts hold now (--replace overwrites them): "
            + ", ".join(report.kept)
        )
    console.print("; ".join(said) + ".")
    with contextlib.suppress(Exception):
        current = load_key_box(settings.master_key, settings.vault).key_id
        other = sorted(report.key_ids - {current})
        if other:
            console.print(
                f"They are sealed under master key {', '.join(other)}, not this service's "
                f"{current}: set that key, or rotate from it (`rampart secrets rotate`)."
            )


@wallet_app.command("partner-fees")
@friendly
def partner_fees(
    account: AccountArg,
    claim: Annotated[
        bool, typer.Option("--claim", help="Send the claim transactions bags.fm builds.")
    ] = False,
    config: ConfigOpt = None,
) -> None:
    """bags.fm partner fees of ACCOUNT's wallet (the one holding your partner key): claimed
    and unclaimed, from bags.fm; --claim claims them with that wallet."""
    from rampart.cli.partner import show_partner_fees

    show_partner_fees(account, claim, config)

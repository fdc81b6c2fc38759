"""``rampart backup create|list|verify|restore|prune``: encrypted backups that restore."""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from rampart.cli.common import ConfigOpt, friendly, service_now_ms
from rampart.cli.tables import Col, print_json, print_listing
from rampart.clock import WallClock, ms_to_datetime

console = Console(soft_wrap=True)
backup_app = typer.Typer(
    help="Encrypted backups of the store: create, list, verify, restore, prune.",
    no_args_is_help=True,
)
DirOpt = Annotated[
    Path | None,
    typer.Option("--dir", help="Backup folder (default: backup.dir).", show_default=False),
]
BackupArg = Annotated[
    str, typer.Argument(help="A backup file, a backup name in the backup folder, or 'latest'.")
]


def _settings(config: Path | None) -> Any:
    from rampart.cli.common import load_settings

    return load_settings(config)


def _key(settings: Any) -> bytes:
    from rampart.backup.keys import backup_key

    return backup_key(settings.backup.key, settings.master_key, settings.vault)


@contextlib.contextmanager
def _resolve(settings: Any, which: str, directory: Path | None) -> Iterator[Path]:
    from rampart.backup.create import destination_for
    from rampart.backup.errors import BackupError

    candidate = Path(which)
    if which != "latest" and candidate.is_file():
        yield candidate
        return
    dest = destination_for(settings.backup, directory)
    names = dest.names()
    if which == "latest":
        if not names:
            raise BackupError(f"There are no backups in {dest.label} yet.")
        which = names[-1]
    elif which not in names:
        raise BackupError(f"There is no backup called {which} in {dest.label}.")
    with dest.local(which) as path:
        yield path


def _size(n: int | None) -> str:
    return "" if n is None else f"{n / 1e6:,.1f} MB"


@backup_app.command("create")
@friendly
def create(directory: DirOpt = None, config: ConfigOpt = None) -> None:
    """Back up the store now (SQLite online backup or pg_dump), encrypted and checksummed."""
    from rampart.backup.create import create_backup, destination_for
    from rampart.store.db import open_database
    from rampart.wiring.backups import effective_config

    settings = _settings(config)
    key = _key(settings)
    dest = destination_for(settings.backup, directory)
    engine = open_database(settings.store.url, migrate=False)
    try:
        with console.status("Backing up the store…"):
            info = create_backup(
                settings.store.url,
                key,
                dest,
                WallClock().now_ms(),  # a backup's age is the wall clock's (doctor, review)
                record_in=engine,
                config=effective_config(settings),
            )
    finally:
        engine.dispose()
    console.print(
        f"Backup {info.name} written to {info.where}: {info.rows:,} rows in "
        f"{len(info.manifest['tables'])} tables, {_size(info.size_bytes)}, "
        f"{info.seconds:.1f} s (schema {info.manifest.get('schema_revision')}), with the "
        "configuration (secrets masked)."
    )


@backup_app.command("list")
@friendly
def list_(
    directory: DirOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the rows as JSON.")] = False,
    config: ConfigOpt = None,
) -> None:
    """Backups in the backup folder, oldest first (reading them needs no key)."""
    from rampart.backup.create import destination_for, list_backups

    settings = _settings(config)
    dest = destination_for(settings.backup, directory)
    found = list_backups(dest)
    if as_json:
        print_json([dataclasses.asdict(item) for item in found])
        return
    if not found:
        console.print(f"No backups in {dest.label} yet.")
        return
    columns = [
        Col("name", key=True),
        Col("created (UTC)"),
        Col("database"),
        Col("schema"),
        Col("rows", justify="right"),
        Col("size", justify="right"),
        Col("note"),
    ]
    print_listing(console, columns, (_backup_row(item) for item in found))


def _backup_row(item: Any) -> list[str]:
    manifest = item.manifest or {}
    rows = sum(int(n) for n in manifest.get("tables", {}).values()) if manifest else None
    return [
        item.name,
        ms_to_datetime(item.created_at).strftime("%Y-%m-%d %H:%M:%S") if item.created_at else "",
        str(manifest.get("backend", "")),
        str(manifest.get("schema_revision", "")),
        "" if rows is None else f"{rows:,}",
        _size(item.size_bytes),
        item.problem or str(manifest.get("reason", "")),
    ]


def _rows_table(rows: list[Any]) -> Table:
    """Tables with rows (or a mismatch); the empty ones that match are one line."""
    table = Table("table", "manifest", "restored", "")
    quiet = 0
    for row in rows:
        if row.ok and row.expected == 0:
            quiet += 1
            continue
        found = "missing" if row.found is None else f"{row.found:,}"
        table.add_row(row.table, f"{row.expected:,}", found, "ok" if row.ok else "MISMATCH")
    if quiet:
        table.add_row(f"({quiet} empty tables)", "0", "0", "ok")
    return table


@backup_app.command("verify")
@friendly
def verify(
    backup: BackupArg = "latest",
    restore_drill: Annotated[
        bool,
        typer.Option(
            "--restore-drill",
            help="Also restore into a scratch database, compare, drop it and record the drill.",
        ),
    ] = False,
    directory: DirOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Decrypt and check a backup against its checksum and manifest; no database is touched."""
    from rampart.backup.restore import restore_drill as drill
    from rampart.backup.restore import verify_backup

    settings = _settings(config)
    key = _key(settings)
    with _resolve(settings, backup, directory) as path:
        with console.status(f"Verifying {path.name}…"):
            checked = verify_backup(path, key)
        console.print(
            f"{checked.name} is intact: {checked.trailer.payload_bytes / 1e6:,.1f} MB decrypted, "
            f"checksum ok, {checked.detail}"
            + (f", {len(checked.rows)} tables match the manifest." if checked.rows else ".")
        )
        if not restore_drill:
            return
        with console.status(f"Restore drill of {path.name}…"):
            report = drill(path, key, settings.store.url, service_now_ms(settings.store.url))
    console.print(_rows_table(report.rows))
    verdict = "passed" if report.ok else "FAILED"
    console.print(
        f"Restore drill {verdict}: restored into {report.target} in {report.seconds:.1f} s; "
        "recorded for GO/NO-GO."
    )
    if not report.ok:
        raise typer.Exit(1)


@backup_app.command("restore")
@friendly
def restore(
    backup: BackupArg,
    to: Annotated[
        str,
        typer.Option(
            "--to",
            help="The database to restore into (sqlite:///new.db or postgresql+psycopg://…/newdb).",
        ),
    ],
    force: Annotated[
        bool,
        typer.Option(
            "--force", help="Replace a target that already holds data (SQLite keeps the old file)."
        ),
    ] = False,
    with_config: Annotated[
        bool,
        typer.Option(
            "--with-config",
            help="Also write the configuration the backup was made with (secrets masked) "
            "beside the database, for review; it is never applied.",
        ),
    ] = False,
    directory: DirOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Restore a backup into a fresh database, migrate it to head and check it."""
    from rampart.backup.restore import restore_backup

    settings = _settings(config)
    key = _key(settings)
    with _resolve(settings, backup, directory) as path, console.status("Restoring…"):
        report = restore_backup(
            path, key, to, WallClock().now_ms(), force=force, with_config=with_config
        )
    console.print(_rows_table(report.rows))
    if report.replaced is not None:
        console.print(f"The previous database was kept as {report.replaced}.")
    verdict = "match" if report.ok else "DO NOT match"
    console.print(
        f"Restored {report.name} into {report.target} in {report.seconds:.1f} s; "
        f"schema {report.schema_revision}; row counts {verdict} the manifest."
    )
    if report.config_file is not None:
        console.print(
            f"The configuration it was made with is in {report.config_file} for review: secrets "
            "are masked and nothing in it was applied."
        )
    for note in report.notes:
        console.print(note)
    if not report.ok:
        raise typer.Exit(1)


@backup_app.command("prune")
@friendly
def prune_(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only say what would go.")] = False,
    directory: DirOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Delete backups outside retention (the newest keep_last, one a day for keep_daily_days)."""
    from rampart.backup.create import destination_for, prune

    settings = _settings(config)
    cfg = settings.backup
    dest = destination_for(cfg, directory)
    # Backups are dated on the service's clock (simulated days on the demo): judge them on it.
    now = service_now_ms(settings.store.url)
    doomed = prune(dest, now, cfg.keep_last, cfg.keep_daily_days, dry_run=dry_run)
    verb = "Would delete" if dry_run else "Deleted"
    if not doomed:
        console.print(f"Nothing to prune in {dest.label}.")
        return
    console.print(f"{verb} {len(doomed)} backups: " + ", ".join(doomed) + ".")

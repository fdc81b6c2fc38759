"""The way back from an upgrade, as a drill: a new Rampart backs the store up before it
migrates the schema, and the previous Rampart restores that backup and runs on it.

"The previous Rampart" is the code of the commit before the newest migration was added, taken
from git (``git archive``) when this is a checkout whose history has it; otherwise this tree
without its newest migration, which is the previous version as far as the schema goes. It
runs in its own process, importing only its own code.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import subprocess
import sys
import tarfile
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from rampart.backup.create import list_backups
from rampart.backup.destinations import DirectoryDestination
from rampart.cli.main import app
from rampart.config import load_settings
from rampart.domain.errors import StoreError
from rampart.store import db as store_db
from rampart.store.db import VERSIONS_DIR, open_database, script_head
from rampart.store.migrate import upgrade
from rampart.wiring.backups import backup_before_migrating

ROOT = Path(__file__).resolve().parents[2]
_DOWN = re.compile(r'^down_revision: str \| None = "(\w+)"', re.MULTILINE)


def _head_script() -> Path:
    head = script_head()
    (script,) = [
        p for p in VERSIONS_DIR.glob("*.py") if f'revision: str = "{head}"' in p.read_text()
    ]
    return script


def _previous_revision() -> str:
    found = _DOWN.search(_head_script().read_text())
    assert found is not None, "the newest migration names no previous revision"
    return found.group(1)


def _revision_of(path: Path) -> str:
    """Read without Alembic and without open_database (which would migrate it)."""
    engine = sa.create_engine(f"sqlite:///{path}")
    try:
        with engine.connect() as conn:
            return str(conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar())
    finally:
        engine.dispose()


def _old_store(path: Path) -> None:
    """A store at the previous schema revision with a little data in it."""
    upgrade(f"sqlite:///{path}", _previous_revision())
    engine = sa.create_engine(f"sqlite:///{path}")
    try:
        with engine.begin() as conn:
            accounts = sa.Table("accounts", sa.MetaData(), autoload_with=conn)
            conn.execute(accounts.insert().values(_row_for(accounts)))
    finally:
        engine.dispose()


def _row_for(table: sa.Table) -> dict[str, Any]:
    """A row filling every required column of ``table`` as the old schema has it."""
    plain = {int: 0, float: 0.0, bool: False, Decimal: Decimal(0)}
    row: dict[str, Any] = {}
    for column in table.columns:
        if column.nullable or column.server_default is not None:
            continue
        try:
            kind = column.type.python_type
        except NotImplementedError:
            kind = str
        row[column.name] = "drill-1" if column.primary_key else plain.get(kind, "x")
    return row


def _settings(tmp_path: Path, db: Path, **backup: Any) -> Any:
    return load_settings(
        None,
        store={"url": f"sqlite:///{db}"},
        backup={"dir": str(tmp_path / "backups"), **backup},
        master_key=secrets.token_hex(32),
    )


def _previous_rampart(tmp_path: Path) -> Path:
    """The source tree of the previous Rampart (see the module); returns its src folder."""
    target = tmp_path / "previous"
    added = _git("log", "--diff-filter=A", "--format=%H", "--", str(_head_script()))
    if added:
        archive = tmp_path / "previous.tar"
        with archive.open("wb") as out:
            done = subprocess.run(
                ["git", "-C", str(ROOT), "archive", f"{added.splitlines()[-1]}^", "src"],
                stdout=out,
                check=False,
            )
        if done.returncode == 0:
            with tarfile.open(archive) as tar:
                tar.extractall(target, filter="data")
            if _head_of(target / "src") == _previous_revision():
                return target / "src"
            shutil.rmtree(target)
    shutil.copytree(ROOT / "src" / "rampart", target / "src" / "rampart")
    (
        target / "src" / "rampart" / "store" / "migrations" / "versions" / _head_script().name
    ).unlink()
    return target / "src"


def _git(*args: str) -> str:
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        return ""
    done = subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True)
    return done.stdout.strip() if done.returncode == 0 else ""


def _run_previous(src: Path, code: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("RAMPART_")}
    return subprocess.run(
        [sys.executable, "-c", code],
        env={**clean, **env, "PYTHONPATH": str(src)},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def _head_of(src: Path) -> str:
    done = _run_previous(
        src, "import rampart.store.db as d; print(d.__file__); print(d.script_head())", {}
    )
    assert done.returncode == 0, done.stderr
    where, head = done.stdout.split()
    assert Path(where).is_relative_to(src), f"the previous Rampart imported {where}"
    return head


def test_an_upgrade_backs_up_first_and_the_previous_version_restores_that_backup(
    tmp_path: Path,
) -> None:
    live = tmp_path / "rampart.db"
    _old_store(live)
    previous = _previous_revision()
    settings = _settings(tmp_path, live)
    said: list[str] = []
    store_db.guard_migrations(backup_before_migrating(settings, said.append))

    open_database(settings.store.url).dispose()  # the new Rampart opens, and migrates, it
    assert _revision_of(live) == script_head() != previous
    (backup,) = list_backups(DirectoryDestination(tmp_path / "backups"))
    assert backup.manifest is not None
    assert backup.manifest["schema_revision"] == previous
    assert backup.manifest["before_migration"] == {"from": previous, "to": script_head()}
    assert backup.manifest["tables"]["accounts"] == 1
    assert len(said) == 1 and backup.name in said[0] and f"from schema {previous}" in said[0]

    # The way back: the previous Rampart restores the backup taken before the migration.
    src = _previous_rampart(tmp_path)
    assert _head_of(src) == previous
    restored = tmp_path / "back" / "rampart.db"
    cli = (
        "import sys; from rampart.cli.main import app; sys.argv = ['rampart', *sys.argv[1:]]; "
        "app(prog_name='rampart')"
    )
    done = _run_previous(
        src,
        f"import sys; sys.argv[1:] = {['backup', 'restore', backup.name]!r} + "
        f"{['--to', f'sqlite:///{restored}', '--dir', str(tmp_path / 'backups')]!r}; " + cli,
        {"RAMPART_MASTER_KEY": settings.master_key.get_secret_value()},
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "match the manifest" in " ".join(done.stdout.split())
    assert _revision_of(restored) == previous  # the previous Rampart's own schema, untouched
    engine = sa.create_engine(f"sqlite:///{restored}")
    try:
        with engine.connect() as conn:
            accounts = sa.Table("accounts", sa.MetaData(), autoload_with=conn)
            (key,) = accounts.primary_key.columns
            ids = list(conn.execute(sa.select(key)).scalars())
    finally:
        engine.dispose()
    assert ids == ["drill-1"]


def test_without_a_key_it_says_so_and_migrates(tmp_path: Path) -> None:
    live = tmp_path / "rampart.db"
    _old_store(live)
    settings = _settings(tmp_path, live)
    settings.master_key = None
    said: list[str] = []
    store_db.guard_migrations(backup_before_migrating(settings, said.append))
    open_database(settings.store.url).dispose()
    assert _revision_of(live) == script_head()
    assert not (tmp_path / "backups").exists()
    (sentence,) = said
    assert "WITHOUT a backup" in sentence and "No backup key is set" in sentence


def test_a_backup_that_fails_stops_the_migration(tmp_path: Path) -> None:
    live = tmp_path / "rampart.db"
    _old_store(live)
    (tmp_path / "backups").write_text("a file where the backup folder should be")
    settings = _settings(tmp_path, live)
    store_db.guard_migrations(backup_before_migrating(settings, lambda _: None))
    with pytest.raises(StoreError, match=r"was not migrated from schema .*backup before it failed"):
        open_database(settings.store.url)
    assert _revision_of(live) == _previous_revision()  # left as it was


def test_an_empty_store_or_another_database_is_migrated_without_one(tmp_path: Path) -> None:
    empty = tmp_path / "empty.db"
    upgrade(f"sqlite:///{empty}", _previous_revision())
    settings = _settings(tmp_path, empty)
    said: list[str] = []
    store_db.guard_migrations(backup_before_migrating(settings, said.append))
    open_database(settings.store.url).dispose()
    other = tmp_path / "other.db"
    _old_store(other)
    open_database(f"sqlite:///{other}").dispose()  # not the store the settings name
    assert said == [] and not (tmp_path / "backups").exists()


def test_every_command_backs_up_before_it_migrates(tmp_path: Path) -> None:
    live = tmp_path / "rampart.db"
    _old_store(live)
    config = tmp_path / "rampart.yaml"
    config.write_text(f"store:\n  url: sqlite:///{live}\nbackup:\n  dir: {tmp_path / 'b'}\n")
    result = CliRunner().invoke(
        app,
        ["token", "list", "--config", str(config)],
        env={"RAMPART_MASTER_KEY": secrets.token_hex(32)},
    )
    assert result.exit_code == 0, result.output
    assert "Backed up the store before migrating it" in " ".join(result.output.split())
    assert len(list((tmp_path / "b").iterdir())) == 1

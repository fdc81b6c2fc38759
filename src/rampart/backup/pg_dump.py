"""PostgreSQL: ``pg_dump -Fc`` of one exported snapshot, streamed through the encryptor.

The manifest's row counts and pg_dump read the same snapshot: a REPEATABLE READ transaction
exports it (``pg_export_snapshot``), counts every table, and stays open while
``pg_dump --snapshot`` reads it. pg_dump's output is encrypted as it arrives, never held in
memory. Connection details go to pg_dump and pg_restore through libpq's environment
variables, so the password never appears on a command line.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import unquote

import sqlalchemy as sa
from sqlalchemy.engine import URL

from rampart.backup import manifest as mf
from rampart.backup.archive import Encryptor
from rampart.backup.errors import BackupError
from rampart.domain.errors import present
from rampart.store.db import parse_url, where
from rampart.store.errors import translate

READ_BYTES = 1 << 20
INSTALL_HINT = "install postgresql-client (scripts/install-ops-tools.sh does it)"
_LIBPQ_QUERY = {
    "sslmode": "PGSSLMODE",
    "sslrootcert": "PGSSLROOTCERT",
    "sslcert": "PGSSLCERT",
    "sslkey": "PGSSLKEY",
    "connect_timeout": "PGCONNECT_TIMEOUT",
    "application_name": "PGAPPNAME",
}


def libpq_env(url: URL) -> dict[str, str]:
    """The environment that points libpq tools at the database of a SQLAlchemy URL."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    values = {
        "PGHOST": url.host or url.query.get("host"),
        "PGPORT": str(url.port) if url.port else None,
        "PGUSER": url.username,
        "PGPASSWORD": url.password,
        "PGDATABASE": url.database,
        "PGOPTIONS": url.query.get("options"),
    }
    for key, env_name in _LIBPQ_QUERY.items():
        values[env_name] = url.query.get(key)  # type: ignore[assignment]
    for name, value in values.items():
        if value:
            env[name] = unquote(value) if isinstance(value, str) else str(value)
    return env


def schema_of(url: URL) -> str | None:
    """The schema named by ``options=-csearch_path=…``, when the store lives in one."""
    options = url.query.get("options")
    if not isinstance(options, str):
        return None
    found = re.search(r"search_path\s*=\s*([^\s,]+)", unquote(options))
    return found.group(1).strip('"') if found else None


def tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise BackupError(f"{name} is not installed; {INSTALL_HINT}.")
    return path


def tool_major(name: str) -> int:
    out = subprocess.run([tool(name), "--version"], capture_output=True, text=True, check=False)  # noqa: S603 - pg_dump/pg_restore by full path, no shell
    found = re.search(r"(\d+)(?:\.\d+)?", out.stdout)
    if found is None:
        raise BackupError(f"Cannot tell which version {name} is ({out.stdout.strip()!r}).")
    return int(found.group(1))


def check_versions(conn: sa.Connection, name: str) -> int:
    """The server's major version, refusing a client tool older than the server."""
    server = int(conn.execute(sa.text("SHOW server_version_num")).scalar_one()) // 10000
    client = tool_major(name)
    if client < server:
        raise BackupError(
            f"{name} is version {client} but the server runs PostgreSQL {server}; "
            f"install postgresql-client-{server} or newer."
        )
    return server


def _engine(url: URL) -> sa.Engine:
    return sa.create_engine(url, poolclass=sa.pool.NullPool)


def dump(
    url_text: str,
    out: BinaryIO,
    key: bytes,
    created_at: int,
    *,
    config: dict[str, Any] | None = None,
    note: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Dump the database at ``url_text`` into ``out`` encrypted, with ``config`` sealed in its
    header and ``note`` in its manifest. Returns the manifest."""
    url = parse_url(url_text)
    schema = schema_of(url)
    engine = _engine(url)
    try:
        conn_ctx = engine.connect().execution_options(isolation_level="REPEATABLE READ")
        with conn_ctx as conn, conn.begin():
            server = check_versions(conn, "pg_dump")
            snapshot_id = conn.execute(sa.text("SELECT pg_export_snapshot()")).scalar_one()
            revision = mf.schema_revision(conn)
            if revision is None:
                raise BackupError(
                    f"The database at {where(url)} is not a Rampart database "
                    "(it has no schema revision)."
                )
            tables = mf.count_rows(conn)
            manifest = mf.build(
                backend="postgresql",
                created_at=created_at,
                revision=revision,
                tables=tables,
                source=f"{where(url)}/{url.database}",
                extra={
                    "payload": "pg_dump-custom",
                    "pg_server": server,
                    "pg_schema": schema,
                    "config": config is not None,
                    **(note or {}),
                },
            )
            enc = Encryptor(out, key, manifest, config)
            _stream_dump(url, schema, snapshot_id, enc)
            enc.close()
    except sa.exc.SQLAlchemyError as err:
        raise translate(err, f"Cannot back up the database at {where(url)}", BackupError) from None
    finally:
        engine.dispose()
    return manifest


def _stream_dump(url: URL, schema: str | None, snapshot_id: str, enc: Encryptor) -> None:
    args = [tool("pg_dump"), "--format=custom", "--no-owner", "--no-privileges"]
    args.append(f"--snapshot={snapshot_id}")
    if schema:
        args.append(f"--schema={schema}")
    with tempfile.TemporaryFile() as errors:
        proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=errors, env=libpq_env(url))  # noqa: S603 - a fixed pg_dump argument list, no shell
        stdout = present(proc.stdout, "pg_dump's output pipe")
        try:
            while block := stdout.read(READ_BYTES):
                enc.write(block)
        finally:
            stdout.close()
            code = proc.wait()
        if code != 0:
            errors.seek(0)
            raise BackupError(f"pg_dump failed: {_last_line(errors.read())}.")


def restore_file(dump_file: Path, url: URL, *, clean: bool) -> None:
    """Load a plain (decrypted) pg_dump archive into the database at ``url``, all or nothing."""
    args = [tool("pg_restore"), "--exit-on-error", "--single-transaction", "--no-owner"]
    args += ["--no-privileges", f"--dbname={url.database}"]
    if clean:
        args += ["--clean", "--if-exists"]
    args.append(str(dump_file))
    done = subprocess.run(args, capture_output=True, env=libpq_env(url), check=False)  # noqa: S603 - a fixed pg_restore argument list, no shell
    if done.returncode != 0:
        raise BackupError(f"pg_restore failed, nothing was restored: {_last_line(done.stderr)}.")


def check_archive(dump_file: Path) -> int:
    """Entries in a pg_dump archive's table of contents; refuses one pg_restore cannot read."""
    done = subprocess.run(  # noqa: S603 - a fixed pg_restore argument list, no shell
        [tool("pg_restore"), "--list", str(dump_file)], capture_output=True, check=False
    )
    if done.returncode != 0:
        raise BackupError(f"The dump in the backup is unreadable: {_last_line(done.stderr)}.")
    return sum(1 for line in done.stdout.splitlines() if line and not line.startswith(b";"))


def _last_line(raw: bytes) -> str:
    lines = [ln.strip() for ln in raw.decode(errors="replace").splitlines() if ln.strip()]
    text = lines[-1] if lines else "no message"
    return text.removeprefix("pg_dump: ").removeprefix("pg_restore: ").rstrip(".")


# -- databases ----------------------------------------------------------------------------------


def admin_url(url: URL) -> URL:
    """The same server, the maintenance database (to create or drop others)."""
    return url.set(database="postgres")


def database_exists(url: URL) -> bool:
    engine = _engine(admin_url(url))
    try:
        with engine.connect() as conn:
            found = conn.execute(
                sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": url.database}
            ).first()
        return found is not None
    finally:
        engine.dispose()


def create_database(url: URL) -> None:
    engine = _engine(admin_url(url)).execution_options(isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            quoted = conn.dialect.identifier_preparer.quote(url.database or "")
            conn.execute(sa.text(f"CREATE DATABASE {quoted}"))
    finally:
        engine.dispose()


def drop_database(url: URL) -> None:
    engine = _engine(admin_url(url)).execution_options(isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            quoted = conn.dialect.identifier_preparer.quote(url.database or "")
            conn.execute(sa.text(f"DROP DATABASE IF EXISTS {quoted} WITH (FORCE)"))
    finally:
        engine.dispose()


def user_tables(url: URL) -> list[str]:
    """Tables in the target's schema (its search_path schema, else public)."""
    engine = _engine(url)
    try:
        with engine.connect() as conn:
            return sa.inspect(conn).get_table_names(schema=schema_of(url) or "public")
    finally:
        engine.dispose()


def count_tables(url: URL) -> dict[str, int]:
    engine = _engine(url)
    try:
        with engine.connect() as conn:
            return mf.count_rows(conn)
    finally:
        engine.dispose()

"""The configuration a backup carries, written out beside the restored database for review.

A backup holds the effective configuration of the service that made it, with every secret
already masked (``********``) before it was sealed: keys, tokens and passwords were never in
the backup, so a restore cannot bring them back. ``backup restore --with-config`` writes that
configuration to a YAML file for the operator to compare with the one they run; the settings
sit under ``settings:`` beside a ``made_from:`` block, so the file is not a settings file
Rampart would load by mistake (``--config`` refuses it, naming ``made_from``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from sqlalchemy.engine import URL

from rampart.backup.errors import BackupError

HEADER = """\
# The configuration of the Rampart that made the backup {name}
# ({created}, Rampart {version}, schema {revision}), written by `rampart backup restore
# --with-config` for review. Secrets are masked (********): they were never in the backup.
# Rampart does not read this file. Compare it with your rampart.yaml, copy what you need,
# and set the secrets again in the environment or your own settings file.
"""


def review_path(url: URL, sqlite_path: Path | None) -> Path:
    """Beside a SQLite database (``live.db.config.yaml``); for PostgreSQL, in the current
    folder, named after the database."""
    if sqlite_path is not None:
        return sqlite_path.with_name(sqlite_path.name + ".config.yaml")
    return Path(f"{url.database or 'rampart'}.config.yaml")


def refuse_existing(path: Path, force: bool) -> None:
    if path.exists() and not force:
        raise BackupError(
            f"{path} already exists; move it away or pass --force to replace it "
            "(nothing was restored)."
        )


def write_review_copy(
    config: dict[str, Any] | None, manifest: dict[str, Any], name: str, path: Path
) -> Path:
    """Write ``config`` (already masked) to ``path``, readable by its owner only."""
    import yaml

    if config is None:
        raise BackupError(
            f"{name} holds no configuration (it was made by a Rampart that did not keep one); "
            "the database was restored."
        )
    text = HEADER.format(
        name=name,
        created=manifest.get("created_at_iso", "time unknown"),
        version=manifest.get("rampart_version", "?"),
        revision=manifest.get("schema_revision", "?"),
    )
    made_from = {
        "backup": name,
        "created_at": manifest.get("created_at_iso"),
        "rampart_version": manifest.get("rampart_version"),
        "schema_revision": manifest.get("schema_revision"),
    }
    body = yaml.safe_dump(
        {"made_from": made_from, "settings": config}, sort_keys=False, allow_unicode=True
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(text + body)
    return path


__all__ = ["refuse_existing", "review_path", "write_review_copy"]

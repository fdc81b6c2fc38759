"""Where a search's studies live, so that a search stopped by Ctrl-C (or a kill) resumes.

Beside the store the operator already has: on PostgreSQL, Optuna's own tables (RDB storage) in
a schema of their own, ``<schema>_optuna`` (``rampart_optuna`` for the default schema) — never
beside Rampart's tables, where Optuna's ``alembic_version`` would meet ours; on SQLite, Optuna's
journal file next to the database file (``var/rampart.db`` → ``var/rampart.optuna.log``),
which several worker processes append to under a file lock. ``--storage`` names another:
a PostgreSQL URL or a journal file path.

Optuna is imported only inside these functions: ``rampart --help`` and the other commands
never load it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import sqlalchemy as sa
from sqlalchemy.engine import make_url

from rampart.domain.errors import ConfigError
from rampart.extras import require

SEARCH_PATH = "-csearch_path="


@dataclass(frozen=True, slots=True)
class StorageSpec:
    """A storage every worker process can open for itself (an engine is not shared across a
    fork)."""

    kind: str
    """``rdb`` or ``journal``."""
    where: str
    """A URL for ``rdb`` (its search_path on ``schema``), a file path for ``journal``."""
    schema: str | None = None

    def describe(self) -> str:
        if self.kind == "journal":
            return f"the journal file {self.where}"
        shown = make_url(self.where).render_as_string(hide_password=True)
        return f"PostgreSQL schema {self.schema} ({shown.split('?')[0]})"


def _schema_of(url: sa.URL) -> str | None:
    options = url.query.get("options")
    text = options if isinstance(options, str) else (options[0] if options else "")
    text = unquote(text)
    if SEARCH_PATH in text:
        return text.split(SEARCH_PATH, 1)[1].split()[0].split(",")[0]
    return None


def spec_for(store_url: str, override: str | None = None) -> StorageSpec:
    """The studies' storage for a store URL (or ``override``)."""
    target = override or store_url
    if "://" not in target:
        return StorageSpec("journal", str(Path(target)))
    url = make_url(target)
    backend = url.get_backend_name()
    if backend == "sqlite":
        if url.database in (None, "", ":memory:"):
            raise ConfigError(
                "A search needs a store on disk to keep its studies in: the store is in memory; "
                "set store.url to a file or give --storage a journal file."
            )
        db = Path(url.database or "")
        return StorageSpec("journal", str(db.with_name(db.stem + ".optuna.log")))
    if backend != "postgresql":
        raise ConfigError(f"Studies are kept on PostgreSQL or SQLite, not {backend}.")
    if override is not None:
        return StorageSpec("rdb", target, _schema_of(url))
    schema = f"{_schema_of(url) or 'rampart'}_optuna"
    query = {k: v for k, v in url.query.items() if k != "options"}
    query["options"] = f"{SEARCH_PATH}{schema}"
    moved = url.set(query=query)
    return StorageSpec("rdb", moved.render_as_string(hide_password=False), schema)


def open_storage(spec: StorageSpec) -> Any:
    """The Optuna storage for ``spec`` (creating its schema or its file's folder)."""
    require("research", "optuna")
    from optuna.storages import JournalStorage, RDBStorage
    from optuna.storages.journal import JournalFileBackend

    if spec.kind == "journal":
        path = Path(spec.where)
        path.parent.mkdir(parents=True, exist_ok=True)
        return JournalStorage(JournalFileBackend(str(path)))
    if spec.schema is not None:
        base = make_url(spec.where)
        plain = base.set(query={k: v for k, v in base.query.items() if k != "options"})
        engine = sa.create_engine(plain)
        try:
            with engine.begin() as conn:
                conn.execute(sa.text(f'CREATE SCHEMA IF NOT EXISTS "{spec.schema}"'))
        finally:
            engine.dispose()
    return RDBStorage(spec.where, engine_kwargs={"pool_pre_ping": True})

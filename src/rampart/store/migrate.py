"""Alembic, driven from code: no ini file on disk, the URL or engine is passed in.

``upgrade_to_head`` runs on one connection inside one transaction, so on PostgreSQL a failed
migration leaves the schema as it was.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def alembic_config() -> Config:
    """A Config pointing at the packaged migrations; add a connection in ``attributes``."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    return cfg


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:  # pragma: no cover - the package always ships revision 0001
        raise RuntimeError("no migrations found in " + str(MIGRATIONS_DIR))
    return head


def known_revision(revision: str) -> bool:
    """Whether this version of Rampart has a migration called ``revision``."""
    scripts = ScriptDirectory.from_config(alembic_config())
    return any(script.revision == revision for script in scripts.walk_revisions())


@contextmanager
def _engine(url: str | sa.Engine) -> Iterator[sa.Engine]:
    if isinstance(url, sa.Engine):
        yield url
        return
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        yield engine
    finally:
        engine.dispose()


def upgrade(url: str | sa.Engine, revision: str) -> None:
    """Migrate the database up to ``revision`` (tests use it to start from an old schema)."""
    with _engine(url) as engine, engine.begin() as conn:
        cfg = alembic_config()
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def upgrade_to_head(url: str | sa.Engine) -> str:
    """Migrate the database to the newest revision (a no-op when it is there). Returns it."""
    upgrade(url, "head")
    return head_revision()


def current_revision(url: str | sa.Engine) -> str | None:
    """The revision the database is at, or None for a database never migrated."""
    with _engine(url) as engine, engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()

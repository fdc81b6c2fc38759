"""Stores for the people tests. ``db``/``seeded``: both backends (the root ``db_url``), for
what reads or writes SQL that differs between them; ``lite``/``seeded_lite``: SQLite only,
for tests of what is built on top (reports, metrics, alerts, e-mail), so PostgreSQL's schema
set-up is paid where it proves something."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from rampart.store.db import open_database
from tests.people.seed import seed


def _engine(url: str) -> Iterator[sa.Engine]:
    engine = open_database(url)
    try:
        yield engine
    finally:
        engine.dispose()


@pytest.fixture
def db(db_url: str) -> Iterator[sa.Engine]:
    yield from _engine(db_url)


@pytest.fixture
def seeded(db: sa.Engine) -> sa.Engine:
    seed(db)
    return db


@pytest.fixture
def lite(tmp_path: Path) -> Iterator[sa.Engine]:
    yield from _engine(f"sqlite:///{tmp_path / 'people.db'}")


@pytest.fixture
def seeded_lite(lite: sa.Engine) -> sa.Engine:
    seed(lite)
    return lite

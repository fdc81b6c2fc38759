from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from rampart.store.audit import AuditLog
from rampart.store.db import open_database


@pytest.fixture
def db(db_url: str) -> Iterator[sa.Engine]:
    engine = open_database(db_url)
    try:
        yield engine
    finally:
        engine.dispose()


@pytest.fixture
def log(db: sa.Engine) -> AuditLog:
    return AuditLog(db)

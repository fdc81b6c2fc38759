"""Fixtures for backups: a key, a backup folder, a small Rampart database with real trading."""

from __future__ import annotations

import asyncio
import os
import secrets
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import URL, make_url

from rampart.backup.destinations import DirectoryDestination
from rampart.config import load_settings
from rampart.store import models as m
from rampart.wiring.replay import run_replay

from ..conftest import SHARED_DATA

DATA = SHARED_DATA / "XRP_ETH-5m.feather"
BOOKS = (m.accounts, m.orders, m.fills, m.positions, m.trades, m.checkpoints)


@pytest.fixture
def key() -> bytes:
    return secrets.token_bytes(32)


@pytest.fixture
def dest(tmp_path: Path) -> DirectoryDestination:
    return DirectoryDestination(tmp_path / "backups")


def replay(db_url: str, out: Path, checkpoint_every: int = 5000) -> None:
    if not DATA.is_file():
        pytest.skip(f"real candles not found at {DATA}")
    settings = load_settings(None)
    settings.store.replay_checkpoint_every = checkpoint_every
    asyncio.run(run_replay(DATA, "trend", "moderate", _capital(), settings, out, db_url))


def _capital() -> Any:
    from decimal import Decimal

    return Decimal("10000")


def read_books(engine: sa.Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the books, in primary-key order: what 'the same books' means."""
    books: dict[str, list[tuple[Any, ...]]] = {}
    with engine.connect() as conn:
        for table in BOOKS:
            order = list(table.primary_key.columns)
            books[table.name] = [tuple(r) for r in conn.execute(sa.select(table).order_by(*order))]
    return books


@pytest.fixture
def new_pg_url(pg_url: str) -> Iterator[Callable[[str], str]]:
    """Makes URLs of databases that do not exist yet on the test server; all dropped afterwards.

    They keep ``pg_url``'s search_path: a backup of a schema restores into that schema.
    """
    base = make_url(pg_url)
    made: list[URL] = []

    def make(tag: str) -> str:
        url = base.set(database=f"rbk_{os.getpid()}_{uuid.uuid4().hex[:8]}_{tag}")
        made.append(url)
        return url.render_as_string(hide_password=False)

    yield make
    from rampart.backup.pg_dump import drop_database

    for url in made:
        drop_database(url)

"""Two databases made by the same code are the same bytes: two replays of the same
file wrote the same rows into files of different bytes, SQLAlchemy creating each table's
indexes in its set's order, which follows the process's string hashing. Made here in two
processes with different hash seeds."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

MAKE = "from rampart.store.db import open_database; open_database('sqlite:///{path}').dispose()"


def _made(path: Path, seed: str) -> bytes:
    env = {**os.environ, "PYTHONHASHSEED": seed}
    subprocess.run([sys.executable, "-c", MAKE.format(path=path)], env=env, check=True, timeout=120)
    return path.read_bytes()


def test_a_new_database_is_the_same_bytes_whatever_the_hash_seed(tmp_path: Path) -> None:
    first, second = _made(tmp_path / "a.db", "1"), _made(tmp_path / "b.db", "2")
    assert first == second

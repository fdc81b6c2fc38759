"""The folder a backup is written in before it has its final name, and what a cut writer leaves.

A backup is written to ``.<name>.partial`` beside its final place (a SQLite store is first
copied into a private ``.rampart-backup-*`` work folder there, in plaintext). A writer killed
half-way (kill -9, a host that loses power) leaves both behind: a file that is not a backup and
a copy of the store that is not encrypted. Every writer holds a shared lock on the folder itself
(flock on its descriptor: no lock file among the backups) while it writes; a writer that can
take it exclusively knows no other writer is alive (the kernel drops a dead process's locks),
clears the leftovers and then writes its own.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

from rampart.backup.errors import BackupError

PARTIAL = ".partial"
WORK_PREFIX = ".rampart-backup-"
"""The prefix of a SQLite store's plaintext work folder (:func:`sqlite_dump.private_dir`)."""


def staged_name(name: str) -> str:
    """Where backup ``name`` is written before it is complete."""
    return f".{name}{PARTIAL}"


def leftovers(folder: Path) -> list[Path]:
    """What unfinished backups left in ``folder``: staging files and plaintext work folders."""
    if not folder.is_dir():
        return []
    return sorted(
        p
        for p in folder.iterdir()
        if (p.name.startswith(".") and p.name.endswith(PARTIAL) and p.is_file())
        or (p.name.startswith(WORK_PREFIX) and p.is_dir())
    )


def _clear(found: list[Path]) -> list[str]:
    cleared: list[str] = []
    for path in found:
        try:
            if path.is_dir():
                shutil.rmtree(path)
            else:
                path.unlink()
        except FileNotFoundError:
            continue
        cleared.append(path.name)
    return cleared


@contextlib.contextmanager
def writing_in(folder: Path) -> Iterator[list[str]]:
    """Hold ``folder``'s writers' lock for one backup's writing; yields the names of the
    leftovers cleared first (none while another writer holds the lock)."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        lock = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    except OSError as err:
        raise BackupError(
            f"Cannot open the backup folder {folder}: {err.strerror or err}."
        ) from None
    try:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            cleared = _clear(leftovers(folder))
        except BlockingIOError:
            cleared = []  # another writer is at work: what looks left over may be its own
        fcntl.flock(lock, fcntl.LOCK_SH)
        yield cleared
    finally:
        os.close(lock)  # lets go of the lock

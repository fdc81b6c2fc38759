"""The log file, rotated by size and by age, old files gzip-compressed, a fixed number kept.

Built on the standard library's :class:`logging.handlers.RotatingFileHandler` (its rollover
shifts ``rampart.log.1.gz`` … ``rampart.log.N.gz`` and drops the oldest), with three
additions: a file is also rotated once its first line is ``rotate_hours`` old; a rotated file
is compressed on a background thread, so the event loop that logged the line that crossed the
size never waits for gzip; and a file that another process rotated away (``rampart replay``
writes the same ``var/rampart.log`` as ``rampart run``) is noticed and reopened, as
:class:`logging.handlers.WatchedFileHandler` does.
"""

from __future__ import annotations

import gzip
import json
import logging
import logging.handlers
import os
import shutil
import sys
import threading
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TextIO

MB = 1024 * 1024
MOVED_CHECK_S = 1.0
"""How often the handler looks whether another process rotated the file away."""
_READ_FIRST = 4096


def first_line_time(path: Path) -> float | None:
    """When the JSON line that starts ``path`` was written (epoch seconds), if it says."""
    try:
        with path.open("rb") as handle:
            line = handle.readline(_READ_FIRST)
        stamp = json.loads(line).get("timestamp")
        return datetime.fromisoformat(str(stamp).replace("Z", "+00:00")).timestamp()
    except (OSError, ValueError, AttributeError, TypeError):
        return None


def compress(plain: Path) -> Path:
    """``plain`` gzip-compressed to ``plain.gz`` (written aside, then renamed), then removed."""
    target = plain.with_name(plain.name + ".gz")
    part = plain.with_name(plain.name + ".gz.part")
    with plain.open("rb") as src, gzip.open(part, "wb") as out:
        shutil.copyfileobj(src, out, 1 << 20)
    os.replace(part, target)
    plain.unlink()
    return target


class RotatingLogFile(logging.handlers.RotatingFileHandler):
    """Writes records to ``path`` and rotates it by size and age (see the module)."""

    def __init__(
        self,
        path: Path,
        *,
        max_bytes: int,
        max_age_s: float,
        keep: int,
        now: Callable[[], float] = time.time,
    ) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        super().__init__(path, maxBytes=max_bytes, backupCount=keep, encoding="utf-8")
        self.namer = _gz_name
        self.rotator = self._rotate
        self.max_age_s = max_age_s
        self._now = now
        self._path = path
        self._compressing: threading.Thread | None = None
        self._moved_checked = now()
        self._opened()
        # Left uncompressed by a process that stopped mid-compression.
        leftovers = [
            plain
            for n in range(1, keep + 1)
            if (plain := Path(f"{self.baseFilename}.{n}")).is_file()
            and not Path(f"{plain}.gz").exists()
        ]
        if leftovers:
            self._start_compressing(leftovers)

    def _file(self) -> TextIO:
        if self.stream is None:
            self.stream = self._open()
        return self.stream

    def _opened(self) -> None:
        """Remember which file is open and when its first line was written."""
        self._identity = _identity(os.fstat(self._file().fileno()))
        self._started = first_line_time(self._path) or self._now()

    def _reopen_if_moved(self) -> None:
        # At most every MOVED_CHECK_S: a stat per line was a tenth of a line's cost.
        checked = self._now()
        if 0 <= checked - self._moved_checked < MOVED_CHECK_S:
            return
        self._moved_checked = checked
        try:
            current = _identity(os.stat(self.baseFilename))
        except FileNotFoundError:
            current = None
        if current != self._identity:
            self._file().close()
            self.stream = self._open()
            self._opened()

    def _due(self, length: int) -> bool:
        """Whether a line of ``length`` characters starts a new file first."""
        self._reopen_if_moved()
        size = self._file().tell()  # appending: the position is the file's end
        if size == 0:  # an empty file is never rotated, however long the line
            return False
        return self._now() - self._started >= self.max_age_s or size + length >= self.maxBytes

    def shouldRollover(self, record: logging.LogRecord) -> bool:
        return self._due(len(self.format(record)) + 1)

    def write_line(self, line: str) -> None:
        """Write one rendered line, rotating first when due: what ``emit`` does for a record,
        without building one (structlog has rendered the line already)."""
        with self.lock:  # type: ignore[union-attr]  # created by Handler.__init__
            try:
                if self._due(len(line) + 1):
                    self.doRollover()
                stream = self._file()
                stream.write(line + "\n")
                stream.flush()
            except Exception:  # as Handler.emit: a log line never takes the program down
                self.handleError(logging.makeLogRecord({"msg": line}))

    def doRollover(self) -> None:
        self.wait_compressed()  # the shift below moves the .gz the last rollover made
        super().doRollover()
        self._opened()

    def _rotate(self, source: str, dest: str) -> None:
        # A rename only: the 50 MB are compressed on a thread, not in the logging call.
        plain = Path(dest.removesuffix(".gz"))
        os.replace(source, plain)
        self._start_compressing([plain])

    def _start_compressing(self, files: list[Path]) -> None:
        def work() -> None:
            for plain in files:
                try:
                    compress(plain)
                except OSError as err:  # a full disk: the file stays, uncompressed
                    sys.stderr.write(f"rampart: cannot compress {plain}: {err}\n")

        # Not a daemon: a process that exits right after a rollover still finishes the .gz.
        self._compressing = threading.Thread(target=work, name="log-compress")
        self._compressing.start()

    def wait_compressed(self) -> None:
        """Return once the last rotated file is compressed."""
        thread = self._compressing
        if thread is not None:
            thread.join()
            self._compressing = None

    def close(self) -> None:
        self.wait_compressed()
        super().close()


def generations(path: Path) -> list[Path]:
    """``path`` and the files rotated from it, oldest first: ``path.N.gz`` (or ``path.N`` left
    uncompressed) down to ``path.1``, then ``path`` itself; only those that exist."""
    rotated: dict[int, Path] = {}
    for candidate in path.parent.glob(path.name + ".*"):
        number, _, rest = candidate.name[len(path.name) + 1 :].partition(".")
        # A finished .gz wins over the plain file it was compressed from.
        if number.isdigit() and (rest == "gz" or (rest == "" and int(number) not in rotated)):
            rotated[int(number)] = candidate
    found = [rotated[n] for n in sorted(rotated, reverse=True)]
    return found + ([path] if path.is_file() else [])


def _gz_name(name: str) -> str:
    return name + ".gz"


def _identity(stat: os.stat_result) -> tuple[int, int]:
    return stat.st_dev, stat.st_ino


class HandlerLogger:
    """structlog's last step for a file: each rendered line goes to a stdlib handler."""

    def __init__(self, handler: RotatingLogFile) -> None:
        self._handler = handler

    def msg(self, message: str) -> None:
        self._handler.write_line(message)

    debug = info = warning = warn = error = critical = exception = fatal = log = msg


__all__ = [
    "MB",
    "HandlerLogger",
    "RotatingLogFile",
    "compress",
    "first_line_time",
    "generations",
]

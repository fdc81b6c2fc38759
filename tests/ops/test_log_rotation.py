"""var/rampart.log is rotated by size and by age, old files gzip-compressed, ``keep`` of them."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
import structlog

from rampart.config import load_settings
from rampart.domain.errors import ConfigError
from rampart.observability.log_files import MB, RotatingLogFile
from rampart.observability.log_settings import LogConfig
from rampart.observability.logging import configure_logging


@pytest.fixture(autouse=True)
def _back_to_stderr() -> object:
    yield
    configure_logging("info", "json")  # closes the file handler (and joins its compressor)


def _lines(path: Path) -> list[dict[str, object]]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as handle:
        return [json.loads(line) for line in handle]


def test_writing_past_the_size_leaves_compressed_files_and_keeps_only_keep(
    tmp_path: Path,
) -> None:
    log_file = tmp_path / "var" / "rampart.log"
    configure_logging("info", "json", log_file, LogConfig(rotate_mb=0.02, keep=3))
    log = structlog.get_logger("test")
    for n in range(1500):  # ~150 kB of lines: about seven files' worth at 20 kB each
        log.info("filler", n=n, text="x" * 60)
    configure_logging("info", "json")  # closes the file: the last compression finishes

    rotated = sorted(p.name for p in log_file.parent.iterdir() if p.name != "rampart.log")
    assert rotated == ["rampart.log.1.gz", "rampart.log.2.gz", "rampart.log.3.gz"]
    assert log_file.stat().st_size <= 0.02 * MB
    for n in (1, 2, 3):
        part = log_file.parent / f"rampart.log.{n}.gz"
        assert part.read_bytes()[:2] == b"\x1f\x8b"  # gzip's magic: really compressed
        assert len(_lines(part)) > 50
    # Nothing lost between the files that are kept, and the newest lines are in the live file.
    numbers = [
        int(str(line["n"]))
        for name in ("rampart.log.3.gz", "rampart.log.2.gz", "rampart.log.1.gz", "rampart.log")
        for line in _lines(log_file.parent / name)
    ]
    assert numbers == list(range(numbers[0], 1500))
    assert numbers[0] > 0  # the oldest files went (keep=3)


def test_a_file_older_than_rotate_hours_is_rotated_whatever_its_size(tmp_path: Path) -> None:
    now = [1_700_000_000.0]
    log_file = tmp_path / "rampart.log"
    handler = RotatingLogFile(log_file, max_bytes=MB, max_age_s=3600, keep=2, now=lambda: now[0])
    from rampart.observability.log_files import HandlerLogger

    sink = HandlerLogger(handler)
    sink.msg('{"timestamp": "2023-11-14T22:13:20Z", "event": "first"}')
    now[0] += 3599
    sink.msg('{"event": "still young"}')
    assert not (tmp_path / "rampart.log.1.gz").exists()
    now[0] += 2
    sink.msg('{"event": "an hour on"}')
    handler.close()
    assert [line["event"] for line in _lines(tmp_path / "rampart.log.1.gz")] == [
        "first",
        "still young",
    ]
    assert [line["event"] for line in _lines(log_file)] == ["an hour on"]


def test_a_file_rotated_by_another_process_is_reopened(tmp_path: Path) -> None:
    now = [1_700_000_000.0]
    log_file = tmp_path / "rampart.log"
    ours = RotatingLogFile(log_file, max_bytes=MB, max_age_s=3600, keep=2, now=lambda: now[0])
    from rampart.observability.log_files import MOVED_CHECK_S, HandlerLogger

    HandlerLogger(ours).msg('{"event": "before"}')
    log_file.rename(tmp_path / "moved.log")  # what another process's rollover does
    now[0] += MOVED_CHECK_S  # it looks at most this often
    HandlerLogger(ours).msg('{"event": "after"}')
    ours.close()
    assert [line["event"] for line in _lines(log_file)] == ["after"]
    assert [line["event"] for line in _lines(tmp_path / "moved.log")] == ["before"]


def test_the_settings_have_a_logging_section() -> None:
    settings = load_settings(None, logging={"rotate_mb": 5, "keep": 3})
    assert (settings.logging.rotate_mb, settings.logging.keep) == (5, 3)
    with pytest.raises(ConfigError, match=r"logging\.keep"):
        load_settings(None, logging={"keep": 0})

"""How the log is set up around its redaction (the mutation area ``redaction``): the
registry of known secrets from a fresh start, the record factory every stdlib logger passes,
stdlib warnings forwarded into Rampart's own lines, and where and how those lines are written.

Each test starts from the module's state as a fresh process has it (no secret registered, no
record factory installed, no handler on the root logger): a secret registered or a factory
installed by an earlier test would otherwise mask the text whether or not the code under test
did its part."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
import structlog
from pydantic import BaseModel, SecretStr

from rampart.observability import logging as rlog
from rampart.observability.log_files import RotatingLogFile
from rampart.observability.log_settings import LogConfig

LONG = "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A"
BOT_TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"


@pytest.fixture(autouse=True)
def _fresh(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(rlog, "_KNOWN", set())
    factory = logging.getLogRecordFactory()
    root = logging.getLogger()
    handlers = list(root.handlers)
    # An earlier test's configure_logging may have left its forwarding handler on the root.
    root.handlers[:] = [h for h in handlers if not isinstance(h, rlog._ToStructlog)]
    monkeypatch.setattr(rlog, "_plain_factory", None)
    monkeypatch.setattr(rlog, "_root_handler", None)
    monkeypatch.setattr(rlog, "_file_handler", None)
    yield
    if rlog._file_handler is not None:
        rlog._file_handler.close()
    logging.setLogRecordFactory(factory)
    root.handlers[:] = handlers


def _lines(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


# -- the registry of known secrets ---------------------------------------------------------


def test_a_secret_of_six_characters_is_registered_and_a_shorter_one_is_not() -> None:
    # Too short a text would mask ordinary words wherever they appear.
    rlog.register_secret("pw9x7z")
    rlog.register_secret("q8w7e")
    assert rlog.mask_text("login pw9x7z then q8w7e") == "login *** then q8w7e"


class _Db(BaseModel):
    url: SecretStr
    port: int = 5432
    replica: str = "postgresql://reader:replicaPw-1@replica/rampart"
    note: str | None = None


class _Settings(BaseModel):
    db: _Db
    keys: list[SecretStr]
    pairs: tuple[SecretStr, ...]
    hooks: dict[str, str]


def test_every_secret_of_the_settings_is_registered_at_any_depth() -> None:
    rlog.register_settings_secrets(
        _Settings(
            db=_Db(url=SecretStr("postgresql+psycopg://rampart:dbPw-in-url@db:5432/rampart")),
            keys=[SecretStr("listed-key-1")],
            pairs=(SecretStr("tupled-key-2"),),
            hooks={"ops": "https://ops:hookPw-3@hooks.example.invalid/x"},
        )
    )
    # Each one alone, out of any URL: as a driver's error or a stack trace quotes it.
    line = "dbPw-in-url replicaPw-1 listed-key-1 tupled-key-2 hookPw-3 5432 rampart"
    assert rlog.mask_text(line) == "*** *** *** *** *** 5432 rampart"


def test_a_plain_string_without_a_url_registers_nothing() -> None:
    rlog.register_settings_secrets({"name": "ops:word@", "mode": "paper"})
    assert rlog.mask_text("ops:word@ paper") == "ops:word@ paper"


# -- the fields of a structlog event and a stdlib record -------------------------------------


def test_an_empty_secret_field_stays_empty_and_mapping_fields_keep_their_text() -> None:
    event = rlog.redact(
        None, "info", {"event": "x", "password": "", "detail": {"note": "ok", "raw": f"k {LONG}"}}
    )
    assert event == {"event": "x", "password": "", "detail": {"note": "ok", "raw": "k ***"}}


def test_a_record_whose_format_fails_is_written_raw_and_masked() -> None:
    record = logging.LogRecord("lib", logging.ERROR, "", 0, f"bad %d {LONG}", ("x",), None)
    assert rlog.RedactFilter().filter(record)
    assert (record.msg, record.args) == ("bad %d ***", None)


def test_an_exception_never_raised_is_formatted_and_masked() -> None:
    # Handed to the logger without a traceback: its text alone is the exception's line.
    error = ValueError(f"key {LONG}")
    record = logging.LogRecord("lib", logging.ERROR, "", 0, "failed", (), (ValueError, error, None))
    assert rlog.RedactFilter().filter(record)
    assert record.exc_text == "ValueError: key ***"


def test_every_record_any_logger_makes_is_masked_once_installed() -> None:
    rlog.install_root_redaction()
    rlog.install_root_redaction()  # a second call wraps nothing twice
    record = logging.getLogger("httpx").makeRecord(
        "httpx", logging.INFO, "client.py", 7, "GET %s", (f"/bot{BOT_TOKEN}/getMe",), None
    )
    assert (record.name, record.lineno, record.getMessage()) == ("httpx", 7, "GET /bot***/getMe")
    # Every argument reaches the record, those given by name too (as some libraries call it).
    named = logging.getLogRecordFactory()(
        "lib", logging.INFO, "", 0, "m", (), None, func="connect", sinfo="Stack (most recent)"
    )
    assert (named.funcName, named.stack_info) == ("connect", "Stack (most recent)")
    assert rlog._plain_factory is not None
    assert rlog._plain_factory("n", logging.INFO, "", 0, "m", (), None).getMessage() == "m"


# -- stdlib records forwarded into Rampart's lines -------------------------------------------


def test_stdlib_warnings_and_errors_reach_the_log_file_with_their_level_and_logger(
    tmp_path: Path,
) -> None:
    log_file = tmp_path / "rampart.log"
    rlog.configure_logging("info", "json", log_file)
    assert rlog.forwards_to_structlog()
    lib = logging.getLogger("ccxt.base")
    lib.info("below the handler's level")
    lib.warning("slow %s", "answer")
    lib.error("refused")
    lib.critical("gone")
    lib.log(45, "a level of its own")  # a level structlog has no method for: a warning
    try:
        raise RuntimeError(f"key {LONG}")
    except RuntimeError:
        lib.exception("failed")
    lines = [(r["event"], r["level"], r["logger"]) for r in _lines(log_file)]
    assert lines == [
        ("slow answer", "warning", "ccxt.base"),
        ("refused", "error", "ccxt.base"),
        ("gone", "critical", "ccxt.base"),
        ("a level of its own", "warning", "ccxt.base"),
        ("failed", "error", "ccxt.base"),
    ]
    last = _lines(log_file)[-1]
    assert "Traceback" in str(last["exception"]) and "RuntimeError: key ***" in str(
        last["exception"]
    )
    assert "exception" not in _lines(log_file)[0]


def test_configuring_again_replaces_the_forwarding_and_closes_the_file(tmp_path: Path) -> None:
    first, second = tmp_path / "a.log", tmp_path / "b.log"
    rlog.configure_logging("info", "json", first)
    opened = rlog._file_handler
    rlog.configure_logging("info", "json", second)
    assert isinstance(opened, logging.FileHandler) and opened.stream is None  # closed
    logging.getLogger("lib").error("once")
    assert [r["event"] for r in _lines(second)] == ["once"]  # one handler on the root, not two
    assert first.read_text() == ""
    rlog.configure_logging("info", "json")
    rlog.configure_logging("info", "json")
    assert rlog._file_handler is None
    logging.getLogger().removeHandler(rlog._root_handler)  # type: ignore[arg-type]
    assert not rlog.forwards_to_structlog()


def test_the_file_is_rotated_after_rotate_hours(tmp_path: Path) -> None:
    rlog.configure_logging("info", "json", tmp_path / "r.log", LogConfig(rotate_hours=2))
    handler = rlog._file_handler
    assert isinstance(handler, RotatingLogFile) and handler.max_age_s == 2 * 3600


def test_lines_carry_an_iso_utc_timestamp_and_a_later_configuration_applies_at_once(
    tmp_path: Path,
) -> None:
    # Even after a configuration that cached its loggers: configure_logging turns that off.
    structlog.configure(cache_logger_on_first_use=True)
    first, second = tmp_path / "a.log", tmp_path / "b.log"
    log = structlog.get_logger("rampart.test")
    rlog.configure_logging("info", "json", first)
    log.info("one")
    rlog.configure_logging("info", "json", second)
    log.info("two")
    assert [r["event"] for r in _lines(first)] == ["one"]
    assert [r["event"] for r in _lines(second)] == ["two"]
    stamp = str(_lines(second)[0]["timestamp"])
    assert stamp.endswith("Z")
    datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%fZ")


# -- without a file: stderr ----------------------------------------------------------------


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_without_a_file_lines_go_to_stderr_readable_by_default_or_as_json(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pipe = io.StringIO()
    monkeypatch.setattr("sys.stderr", pipe)
    rlog.configure_logging()
    structlog.get_logger("t").debug("hidden")
    structlog.get_logger("t").info("shown", n=1)
    text = pipe.getvalue()
    assert "shown" in text and "n=1" in text and "hidden" not in text
    assert not text.lstrip().startswith("{") and "\x1b[" not in text  # a pipe: no colours

    rlog.configure_logging("info", "json")
    structlog.get_logger("t").info("as json")
    assert json.loads(pipe.getvalue().splitlines()[-1])["event"] == "as json"

    terminal = _Terminal()
    monkeypatch.setattr("sys.stderr", terminal)
    rlog.configure_logging("info", "console")
    structlog.get_logger("t").info("coloured")
    assert "coloured" in terminal.getvalue() and "\x1b[" in terminal.getvalue()

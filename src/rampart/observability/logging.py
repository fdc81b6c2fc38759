"""Structured logs: JSON in production, readable in a terminal, secrets redacted."""

from __future__ import annotations

import logging
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from rampart.observability.log_settings import LogConfig

_SECRET_KEYS = re.compile(r"(secret|password|passwd|token|api_?key|master_?key)", re.I)


# Exchange API keys and secrets are long runs of letters and digits (Binance: 64); a bot token
# is digits, a colon and 35 more. Anything shaped like one is masked wherever it appears.
_SECRET_TEXT = re.compile(
    r"\b\d{6,12}:[A-Za-z0-9_-]{30,}|(?=[A-Za-z0-9+/_-]*\d)(?=[A-Za-z0-9+/_-]*[A-Za-z])"
    r"[A-Za-z0-9+/_-]{32,}={0,2}"
)
_KNOWN: set[str] = set()


def register_secret(value: str) -> None:
    """Mask this exact text in every later log line (credentials read from a user)."""
    if len(value) >= 6:
        _KNOWN.add(value)


def mask_text(text: str) -> str:
    """The text with anything that looks like a credential replaced by ``***``."""
    for known in _KNOWN:
        if known in text:
            text = text.replace(known, "***")
    return _SECRET_TEXT.sub("***", text)


def _mask_value(value: Any) -> Any:
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, dict):
        return {k: _mask_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_mask_value(v) for v in value)
    return value


def redact(_: Any, __: str, event: dict[str, Any]) -> dict[str, Any]:
    """Mask values of fields whose names say they hold a secret, and any text that looks like
    a credential in every other field and the message itself."""
    for key in list(event):
        if _SECRET_KEYS.search(key) and event[key] not in (None, ""):
            event[key] = "***"
        else:
            event[key] = _mask_value(event[key])
    return event


class RedactFilter(logging.Filter):
    """The same masking for stdlib loggers (httpx logs request URLs, which carry a bot token)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = mask_text(record.getMessage())
        record.args = None
        return True


class LazyLogger:
    """A module's structlog logger, imported on its first use.

    A module that only logs on rare paths (the rollout controller, loaded by ``rampart
    go-nogo`` and ``rampart rollout status``) takes one of these instead of
    ``structlog.get_logger``: importing structlog pulls rich's tracebacks and pygments, a
    tenth of a read-only command's start. Every call reaches the same structlog logger, so
    ``configure_logging`` and ``structlog.testing.capture_logs`` apply to it as to any other.
    """

    __slots__ = ("_logger", "_name")

    def __init__(self, name: str) -> None:
        self._name = name
        self._logger: Any = None

    def __getattr__(self, attr: str) -> Any:
        logger = self._logger
        if logger is None:
            import structlog

            logger = self._logger = structlog.get_logger(self._name)
        return getattr(logger, attr)


_file_handler: logging.Handler | None = None


def configure_logging(
    level: str = "info",
    fmt: str = "console",
    file: Path | None = None,
    rotation: LogConfig | None = None,
) -> None:
    """Where structlog's lines go: ``file`` (JSON, rotated by ``rotation``, the defaults when
    None) or stderr. A later call replaces the earlier one and closes its file."""
    # structlog (and the rich tracebacks its console renderer loads) is imported here, not at
    # the top: the CLI imports this module for every command, most of which never log.
    import structlog

    global _file_handler
    if _file_handler is not None:
        _file_handler.close()
        _file_handler = None
    factory: Any
    if file is not None:
        from rampart.observability.log_files import MB, HandlerLogger, RotatingLogFile
        from rampart.observability.log_settings import LogConfig as Defaults

        cfg = rotation or Defaults()
        _file_handler = RotatingLogFile(
            file,
            max_bytes=max(1, int(cfg.rotate_mb * MB)),
            max_age_s=cfg.rotate_hours * 3600,
            keep=cfg.keep,
        )
        sink = HandlerLogger(_file_handler)
        factory = lambda *_: sink  # noqa: E731 - one logger for every name
        renderer: Any = structlog.processors.JSONRenderer()
    else:
        stream: TextIO = sys.stderr
        factory = structlog.PrintLoggerFactory(stream)
        renderer = (
            structlog.processors.JSONRenderer()
            if fmt == "json"
            else structlog.dev.ConsoleRenderer(colors=stream.isatty())
        )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            redact,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=factory,
        cache_logger_on_first_use=False,
    )

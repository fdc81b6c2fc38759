"""Structured logs: JSON in production, readable in a terminal, secrets redacted."""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Callable
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
# Secrets by where they sit, whatever their length or letters (a bot token inside a
# Bot API URL, /bot<id>:<secret>/getMe, has no word boundary before its digits): a bot token
# anywhere, a URL's password (postgresql://user:PASSWORD@host), a secret query parameter
# (webhooks, signed requests) and an Authorization header's credential.
_SECRET_PLACES = (
    (re.compile(r"(?<![0-9])[0-9]{5,12}:[A-Za-z0-9_-]{20,}"), "***"),
    (re.compile(r"(\b[a-z][a-z0-9+.-]*://[^:/@\s]*:)[^@\s/]+(@)", re.I), r"\1***\2"),
    (
        re.compile(
            r"([?&](?:[a-z_]*token|[a-z_]*key|secret|signature|password|passwd|sig)=)[^&\s\"'#]+",
            re.I,
        ),
        r"\1***",
    ),
    (re.compile(r"\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=:-]{8,}"), r"\1 ***"),
)
_KNOWN: set[str] = set()


def register_secret(value: str) -> None:
    """Mask this exact text in every later log line (credentials read from a user, and every
    secret of the settings: :func:`register_settings_secrets`)."""
    if len(value) >= 6:
        _KNOWN.add(value)


def register_settings_secrets(settings: Any) -> None:
    """Register every secret a settings object holds (``SecretStr`` fields at any depth, and
    passwords inside URL fields), so each is masked by its exact text in every log line, error
    message, incident and notice, whatever its shape."""
    from pydantic import BaseModel, SecretStr

    def walk(value: Any) -> None:
        if isinstance(value, SecretStr):
            secret = value.get_secret_value()
            register_secret(secret)
            for found in re.finditer(r"://[^:/@\s]*:([^@\s/]+)@", secret):
                register_secret(found.group(1))
        elif isinstance(value, BaseModel):
            for name in type(value).model_fields:
                walk(getattr(value, name, None))
        elif isinstance(value, dict):
            for item in value.values():
                walk(item)
        elif isinstance(value, list | tuple):
            for item in value:
                walk(item)
        elif isinstance(value, str) and "://" in value:
            for found in re.finditer(r"://[^:/@\s]*:([^@\s/]+)@", value):
                register_secret(found.group(1))

    walk(settings)


def mask_text(text: str) -> str:
    """The text with anything that looks like a credential replaced by ``***``."""
    for known in _KNOWN:
        if known in text:
            text = text.replace(known, "***")
    for pattern, replacement in _SECRET_PLACES:
        text = pattern.sub(replacement, text)
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


def _mask_record(record: logging.LogRecord) -> None:
    try:
        message = record.getMessage()
    except Exception:  # a malformed %-format: the raw text, masked, rather than no line
        message = str(record.msg)
    record.msg, record.args = mask_text(message), None
    if record.exc_info and record.exc_info[1] is not None and not record.exc_text:
        # Formatters reuse exc_text: the traceback is formatted once, here, masked.
        record.exc_text = mask_text(logging.Formatter().formatException(record.exc_info))
    elif record.exc_text:
        record.exc_text = mask_text(record.exc_text)


class RedactFilter(logging.Filter):
    """The same masking for stdlib loggers (httpx logs request URLs, which carry a bot token)."""

    def filter(self, record: logging.LogRecord) -> bool:
        _mask_record(record)
        return True


_plain_factory: Callable[..., logging.LogRecord] | None = None


def install_root_redaction() -> None:
    """Mask every stdlib log record as it is made, whichever logger made it and whichever
    handler writes it (httpx, telegram, ccxt, sqlalchemy, uvicorn, and exception text): the
    record factory is the one place all of them pass. Idempotent."""
    global _plain_factory
    if _plain_factory is not None:
        return
    plain = _plain_factory = logging.getLogRecordFactory()

    def masked(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = plain(*args, **kwargs)
        _mask_record(record)
        return record

    logging.setLogRecordFactory(masked)


class _ToStructlog(logging.Handler):
    """Stdlib warnings and errors into the same lines (and file) as Rampart's own, through the
    same redaction: a library's failure is in the log the operator reads."""

    def emit(self, record: logging.LogRecord) -> None:
        import structlog

        _mask_record(record)
        fields: dict[str, Any] = {"logger": record.name}
        if record.exc_text:
            fields["exception"] = record.exc_text
        level = record.levelname.lower()
        log = structlog.get_logger(record.name)
        getattr(log, level if level in ("warning", "error", "critical") else "warning")(
            record.msg, **fields
        )


_root_handler: logging.Handler | None = None


def forwards_to_structlog() -> bool:
    """Whether stdlib records reaching the root logger go on into structlog (configure_logging
    put its handler there): their error count is then structlog's to take."""
    return _root_handler is not None and _root_handler in logging.getLogger().handlers


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

    from rampart.observability.tracing import add_trace_ids

    global _file_handler, _root_handler
    install_root_redaction()
    root = logging.getLogger()
    if _root_handler is not None:
        root.removeHandler(_root_handler)
    _root_handler = _ToStructlog(logging.WARNING)
    root.addHandler(_root_handler)
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
            add_trace_ids,  # a line logged inside a span names its trace
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            # Exception text is made a field before the redaction, never rendered after it.
            structlog.processors.format_exc_info,
            redact,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=factory,
        cache_logger_on_first_use=False,
    )

"""Structured logs: JSON in production, readable in a terminal, secrets redacted."""

from __future__ import annotations

import logging
import re
import sys
from pathlib import Path
from typing import Any, TextIO

import structlog

_SECRET_KEYS = re.compile(r"(secret|password|passwd|token|api_?key|master_?key)", re.I)


def redact(_: Any, __: str, event: dict[str, Any]) -> dict[str, Any]:
    """Mask values of fields whose names say they hold a secret."""
    for key in list(event):
        if _SECRET_KEYS.search(key) and event[key] not in (None, ""):
            event[key] = "***"
    return event


def configure_logging(level: str = "info", fmt: str = "console", file: Path | None = None) -> None:
    stream: TextIO
    if file is not None:
        file.parent.mkdir(parents=True, exist_ok=True)
        stream = file.open("a", encoding="utf-8")
    else:
        stream = sys.stderr
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if fmt == "json" or file is not None
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
        logger_factory=structlog.PrintLoggerFactory(stream),
        cache_logger_on_first_use=False,
    )

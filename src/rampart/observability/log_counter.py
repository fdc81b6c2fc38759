"""Error-level log records counted into ``rampart_log_errors_total`` (the ErrorSpike rule):
a structlog processor for Rampart's own logs and a stdlib handler for libraries."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any, Protocol

import structlog

from rampart.observability.logging import forwards_to_structlog


class ErrorCount(Protocol):
    """The one counter these hooks add to (:class:`rampart.observability.metrics.Metrics` has
    it). Named here, not imported: the metrics module installs these hooks, so they do not read
    it back."""

    def log_error(self) -> None: ...


_ERROR_LEVELS = frozenset({"error", "critical", "exception", "fatal"})


class _ErrorCounter:
    """A structlog processor counting error-level events; it passes every event on unchanged."""

    def __init__(self, metrics: ErrorCount) -> None:
        self.metrics = metrics

    def __call__(self, _logger: Any, method: str, event: dict[str, Any]) -> dict[str, Any]:
        if method in _ERROR_LEVELS or str(event.get("level", "")).lower() in _ERROR_LEVELS:
            self.metrics.log_error()
        return event


class _ErrorHandler(logging.Handler):
    """Counts stdlib error records (uvicorn, libraries) that never pass through structlog."""

    def __init__(self, metrics: ErrorCount) -> None:
        super().__init__(level=logging.ERROR)
        self.metrics = metrics

    def emit(self, record: logging.LogRecord) -> None:
        # Once configure_logging has put its root handler in, a library's record goes on into
        # structlog, where _ErrorCounter counts it: counted here too, it was counted twice.
        if not forwards_to_structlog():
            self.metrics.log_error()


def install_log_counter(metrics: ErrorCount) -> Callable[[], None]:
    """Count error-level log records into ``rampart_log_errors_total``; returns an uninstall.

    Call it after ``configure_logging`` (which replaces structlog's processors).
    """
    processors: list[Any] = [
        p for p in structlog.get_config()["processors"] if not isinstance(p, _ErrorCounter)
    ]
    counter = _ErrorCounter(metrics)
    structlog.configure(processors=[counter, *processors])
    handler = _ErrorHandler(metrics)
    logging.getLogger().addHandler(handler)

    def uninstall() -> None:
        current: Iterable[Any] = structlog.get_config()["processors"]
        structlog.configure(processors=[p for p in current if p is not counter])
        logging.getLogger().removeHandler(handler)

    return uninstall

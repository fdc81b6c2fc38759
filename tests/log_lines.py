"""The log lines a test's code writes, at every level: the suite runs with errors only
(``tests/conftest.py``), so a test that reads warnings or info lines asks for them here."""

from __future__ import annotations

import logging
from collections.abc import Iterator, MutableMapping
from contextlib import contextmanager
from typing import Any

import structlog
from structlog.testing import capture_logs


@contextmanager
def every_log_line() -> Iterator[list[MutableMapping[str, Any]]]:
    """The lines logged meanwhile, at every level, as structlog's event dicts."""
    before = structlog.get_config()["wrapper_class"]
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.DEBUG))
    try:
        with capture_logs() as logs:
            yield logs
    finally:
        structlog.configure(wrapper_class=before)

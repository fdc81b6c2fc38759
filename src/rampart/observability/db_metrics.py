"""Database statement timing: SQLAlchemy cursor-execute listeners feed ``rampart_db_query_seconds``.

The start time rides on the execution context, so concurrent connections never mix up their
timings. Listeners can be removed again, which tests and engine disposal rely on.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
import structlog
from sqlalchemy import event

from rampart.observability.metrics import Metrics

_STARTED = "_rampart_query_started"

log = structlog.get_logger("rampart.store")


def instrument_database(
    db: sa.Engine, metrics: Metrics, slow_query_ms: float = 0.0
) -> Callable[[], None]:
    """Time every statement run on ``db``; returns a function that stops timing. A statement
    slower than ``slow_query_ms`` (``store.slow_query_ms``; 0: off) is logged as
    ``slow_query`` with its SQL (placeholders, never the values) and its duration."""

    def before(
        _conn: Any, _cursor: Any, _stmt: str, _params: Any, context: Any, _many: bool
    ) -> None:
        if context is not None:
            setattr(context, _STARTED, time.perf_counter())

    def after(
        _conn: Any, _cursor: Any, _stmt: str, _params: Any, context: Any, _many: bool
    ) -> None:
        started = getattr(context, _STARTED, None) if context is not None else None
        if started is not None:
            took = time.perf_counter() - started
            metrics.db_query(took)
            if slow_query_ms > 0 and took * 1000 >= slow_query_ms:
                log.warning(
                    "slow_query",
                    ms=round(took * 1000, 1),
                    limit_ms=slow_query_ms,
                    statement=" ".join(_stmt.split())[:500],
                )

    def failed(context: Any) -> None:
        # A failing statement took time too; count it so a slow, failing database shows up.
        started = getattr(context.execution_context, _STARTED, None)
        if started is not None:
            metrics.db_query(time.perf_counter() - started)
            # DatabaseErrors: the failed share of the statements run (the histogram counts
            # both). A connection that never opened is DatabaseDown's, not a statement's.
            metrics.launch.db_error()

    event.listen(db, "before_cursor_execute", before)
    event.listen(db, "after_cursor_execute", after)
    event.listen(db, "handle_error", failed)

    def remove() -> None:
        for name, fn in (
            ("before_cursor_execute", before),
            ("after_cursor_execute", after),
            ("handle_error", failed),
        ):
            if event.contains(db, name, fn):
                event.remove(db, name, fn)

    return remove

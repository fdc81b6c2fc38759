"""What the service reports of its calls to an exchange: each call's duration and each failure,
counted by kind and logged once with the order it concerns. A part of
:class:`~rampart.observability.metrics.Metrics`, which registers the two series."""

from __future__ import annotations

from collections.abc import Callable

import structlog
from prometheus_client import Counter, Histogram

from rampart.observability.exchange_calls import NOT_FOUND_ANSWERS, NOT_FOUND_KIND, current_call

log = structlog.get_logger("rampart.metrics")


class ExchangeReports:
    exchange_requests_s: Histogram
    """``rampart_exchange_requests_seconds`` by venue."""
    exchange_errors: Counter
    """``rampart_exchange_errors_total`` by venue and kind."""

    def exchange_call(self, venue: str, seconds: float) -> None:
        self.exchange_requests_s.labels(venue=venue).observe(seconds)

    def exchange_error(
        self, venue: str, kind: str, *, endpoint: str | None = None, detail: str = ""
    ) -> None:
        """Count one failed exchange call and log it once, with the order it concerns (as
        named by :func:`exchange_call` around the call, when it was)."""
        self.exchange_errors.labels(venue=venue, kind=kind).inc()
        context = current_call()
        log.warning(
            "exchange_error",
            venue=venue,
            kind=kind,
            call=context.get("call"),
            endpoint=endpoint,
            account_id=context.get("account_id"),
            order=context.get("order"),
            symbol=context.get("symbol"),
            detail=detail[:200],
        )

    def exchange_hook(self, venue: str) -> Callable[[str, float, str | None], None]:
        """An ``on_call(endpoint, seconds, error_kind)`` for a venue that reports every HTTP
        attempt itself (the ccxt venue): each attempt is timed, each failure counted.

        A cancel answered "no such open order" is timed but not counted as a failure: the
        order finished on the exchange already (typically an OCO leg closed with its
        partner), and the venue reports its final state instead. So is a look-up by client id
        answered "no such order": the order never reached the exchange.
        """

        def on_call(endpoint: str, seconds: float, kind: str | None) -> None:
            self.exchange_call(venue, seconds)
            if kind is None:
                return
            answer = NOT_FOUND_ANSWERS.get(endpoint) if kind == NOT_FOUND_KIND else None
            if answer is not None:
                context = current_call()
                log.info(
                    answer,
                    venue=venue,
                    account_id=context.get("account_id"),
                    order=context.get("order"),
                    symbol=context.get("symbol"),
                )
                return
            self.exchange_error(venue, kind, endpoint=endpoint)

        return on_call

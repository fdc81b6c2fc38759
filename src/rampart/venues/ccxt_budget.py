"""The request budget on a ccxt client: every HTTP request it makes is paid for first.

:func:`attach` wraps two of the client's own steps (on the instance, nothing global):
``fetch2``, through which every REST request passes with ccxt's cost for its endpoint (paid
from the budget before the request leaves, whatever ``enableRateLimit`` says), and
``on_rest_response``, which sees each answer's status and headers (the exchange's used-weight
count, a 429 or 418 with its ``Retry-After``, the published limits in ``exchangeInfo``).

The priority a request is paid at comes from :class:`~rampart.venues.ccxt_errors.CcxtCaller`
(what the call is: a cancel, a create, a read) and from the caller's context
(:func:`spending`: a protective order and the reads it needs, or polling).
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Coroutine, Iterator
from contextvars import ContextVar
from typing import Any, ParamSpec, TypeVar

import structlog

from rampart.domain.orders import Order, OrderRole
from rampart.venues.request_budget import Priority, RequestBudget

log = structlog.get_logger("rampart.venues.budget")

_PRIORITY: ContextVar[Priority | None] = ContextVar("rampart_budget_priority", default=None)
_ATTR = "_rampart_budget"
_OWN = "_rampart_unbudgeted"


@contextlib.contextmanager
def spending(priority: Priority) -> Iterator[None]:
    """Pay the requests made inside at ``priority`` (a protective order, polling …)."""
    token = _PRIORITY.set(priority)
    try:
        yield
    finally:
        _PRIORITY.reset(token)


def context_priority() -> Priority | None:
    return _PRIORITY.get()


P = ParamSpec("P")
R = TypeVar("R")


Method = Callable[P, Coroutine[Any, Any, R]]


def paid_as(priority: Callable[..., Priority]) -> Callable[[Method[P, R]], Method[P, R]]:
    """Pay every request a method makes at ``priority(*its arguments)``."""

    def wrap(fn: Method[P, R]) -> Method[P, R]:
        @functools.wraps(fn)
        async def paid(*args: P.args, **kwargs: P.kwargs) -> R:
            with spending(priority(*args, **kwargs)):
                return await fn(*args, **kwargs)

        return paid

    return wrap


def order_priority(_venue: Any, order: Order, *_: Any) -> Priority:
    """A stop, a take-profit or an exit protects a position: paid before any entry (with the
    reads it needs to be sent)."""
    if order.role.protective or order.role is OrderRole.EXIT:
        return Priority.PROTECT
    return Priority.ENTRY


def protective(*_: Any) -> Priority:
    return Priority.PROTECT


def polling(*_: Any) -> Priority:
    return Priority.POLL


def attach(client: Any, budget: RequestBudget) -> None:
    """Make ``client`` pay every request from ``budget`` (once; again is a no-op)."""
    if getattr(client, _ATTR, None) is budget:
        return
    # A client moved to another budget pays that one only: wrap its own steps, not ours.
    fetch2, on_rest_response = getattr(client, _OWN, None) or (
        client.fetch2,
        client.on_rest_response,
    )
    setattr(client, _OWN, (fetch2, on_rest_response))
    budget.set_rate(_default_rate_ms(client))

    async def paid_fetch2(
        path: Any,
        api: Any = "public",
        method: str = "GET",
        params: Any = None,
        config: Any = None,
    ) -> Any:
        params = {} if params is None else params
        config = {} if config is None else config
        cost = client.calculate_rate_limiter_cost(api, method, path, params, config)
        priority = _PRIORITY.get()  # PROTECT is 0: test for None, never for truth
        await budget.acquire(budget.weight(cost), Priority.READ if priority is None else priority)
        return await fetch2(path, api, method, params, config)

    def observed(
        code: Any,
        reason: Any,
        url: Any,
        method: Any,
        response_headers: Any,
        response_body: Any,
        request_headers: Any,
        request_body: Any,
    ) -> Any:
        try:
            budget.observe(int(code or 0), response_headers, response_body)
        except Exception:  # the budget's bookkeeping must never lose an answer
            log.exception("request_budget_observe_failed", exchange=budget.exchange)
        return on_rest_response(
            code,
            reason,
            url,
            method,
            response_headers,
            response_body,
            request_headers,
            request_body,
        )

    client.fetch2 = paid_fetch2
    client.on_rest_response = observed
    setattr(client, _ATTR, budget)


_RATES: dict[type, float] = {}


def _default_rate_ms(client: Any) -> float:
    """The exchange's own ``rateLimit`` in ccxt (what its costs are scaled to), not one a
    client was given: ``venue.rate_limit_ms`` slows a client, it does not change weights."""
    cls = type(client)
    if cls not in _RATES:
        try:
            _RATES[cls] = float(client.describe().get("rateLimit") or client.rateLimit)
        except Exception:
            _RATES[cls] = float(getattr(client, "rateLimit", 1000) or 1000)
    return _RATES[cls]


__all__ = [
    "attach",
    "context_priority",
    "order_priority",
    "paid_as",
    "polling",
    "protective",
    "spending",
]

"""The request budget on a ccxt client: every HTTP request it makes is paid for first.

:func:`attach` wraps two of the client's own steps (on the instance, nothing global):
``fetch2``, through which every REST request passes with ccxt's cost for its endpoint (paid
from the budget before the request leaves, whatever ``enableRateLimit`` says), and
``on_rest_response``, which sees each answer's status and headers (the exchange's used-weight
count, a 429 or 418 with its ``Retry-After``, the published limits in ``exchangeInfo``).

The lane a request is paid from (:mod:`rampart.venues.budget_lanes`) is chosen where the call
is made: :class:`~rampart.venues.ccxt_errors.CcxtCaller` is told what the call is (a cancel, a
create, a read of market data or of the account's orders, trades and balances), and the
caller's context (:func:`spending`) says whose flow it serves: a protective order or an entry
pays the reads it needs from its own lane, and polling is skipped, never waited for, when
there is no room.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Coroutine, Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, ParamSpec, TypeVar

import structlog

from rampart.domain.orders import Order, OrderRole
from rampart.venues.budget_lanes import Lane
from rampart.venues.request_budget import RequestBudget

log = structlog.get_logger("rampart.venues.budget")


@dataclass(frozen=True, slots=True)
class Spend:
    lane: Lane | None = None
    """The lane of the flow (None: each call's own)."""
    poll: bool = False
    """Polling: skipped at once when there is no room (it comes again)."""


EACH_CALL = Spend()
_SPEND: ContextVar[Spend | None] = ContextVar("rampart_budget_spend", default=None)
_ATTR = "_rampart_budget"
_OWN = "_rampart_unbudgeted"


@contextlib.contextmanager
def spending(lane: Lane | None = None, *, poll: bool = False) -> Iterator[None]:
    """Pay the requests made inside from ``lane`` (a protective order's flow …), or as
    polling."""
    token = _SPEND.set(Spend(lane, poll))
    try:
        yield
    finally:
        _SPEND.reset(token)


def context_spend() -> Spend:
    return _SPEND.get() or EACH_CALL


P = ParamSpec("P")
R = TypeVar("R")


Method = Callable[P, Coroutine[Any, Any, R]]


def paid_as(spend: Callable[..., Spend]) -> Callable[[Method[P, R]], Method[P, R]]:
    """Pay every request a method makes as ``spend(*its arguments)`` says."""

    def wrap(fn: Method[P, R]) -> Method[P, R]:
        @functools.wraps(fn)
        async def paid(*args: P.args, **kwargs: P.kwargs) -> R:
            chosen = spend(*args, **kwargs)
            with spending(chosen.lane, poll=chosen.poll):
                return await fn(*args, **kwargs)

        return paid

    return wrap


def order_lane(order: Order) -> Lane:
    """A stop, a take-profit or an exit protects a position: the protect lane; anything else
    opens one: the entry lane."""
    if order.role.protective or order.role is OrderRole.EXIT:
        return Lane.PROTECT
    return Lane.ENTRY


def order_flow(_venue: Any, order: Order, *_: Any) -> Spend:
    """An order and the reads it needs to be sent, paid from its role's lane."""
    return Spend(order_lane(order))


def protective(*_: Any, **__: Any) -> Spend:
    # Keywords too: an amend may name new prices (an agent's moved stop).
    return Spend(Lane.PROTECT)


def polling(*_: Any) -> Spend:
    return Spend(None, poll=True)


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
        # CcxtCaller has set the call's lane; a request made by ccxt on its own (a clock
        # resync) is paid as a reconciliation read.
        spend = context_spend()
        lane = Lane.RECONCILE if spend.lane is None else spend.lane
        await budget.acquire(budget.weight(cost), lane, poll=spend.poll)
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
    "Spend",
    "attach",
    "context_spend",
    "order_flow",
    "order_lane",
    "paid_as",
    "polling",
    "protective",
    "spending",
]

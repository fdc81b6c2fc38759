"""ccxt's exceptions as the project's errors, with a retry policy per kind of failure.

Every call to an exchange goes through :class:`CcxtCaller`, which classifies a failure into a
:class:`Kind` and then decides, by what the call was (:class:`Op`):

- **safe to retry**: reads and cancels on any transient failure (a repeated cancel of an order
  already gone is answered "unknown order", and its final state is fetched); creates only when
  the exchange certainly did not act on the request (rate limited, connection never made,
  timestamp refused);
- **not safe, refused**: invalid order, insufficient funds, authentication, unknown symbol … →
  :class:`~rampart.domain.errors.VenueError` with a plain sentence and a stable ``code``;
- **needs reconciliation**: a create that timed out, lost its connection mid-way or got an
  unreadable answer, and a cancel that could not be confirmed → :class:`OutcomeUnknown`: the
  order stays ``UNKNOWN`` until it is looked up by its client order id.

Waits use the Clock (full jitter, at least the exchange's ``Retry-After``); the client's own
``enableRateLimit`` throttle spaces requests by the exchange's ``rateLimit`` on top of this.
"""

from __future__ import annotations

import asyncio
import json
import random
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from decimal import InvalidOperation, localcontext
from enum import StrEnum
from typing import Any, TypeVar

import aiohttp
import ccxt.async_support as ccxt
import structlog

from rampart.clock import Clock
from rampart.domain.errors import OutcomeUnknown, RampartError, VenueError
from rampart.venues.budget_lanes import Lane
from rampart.venues.ccxt_budget import Spend, attach, context_spend, spending
from rampart.venues.request_budget import BudgetRefused, RequestBudget
from rampart.venues.retry import Backoff, RetryPolicy, parse_retry_after

log = structlog.get_logger("rampart.venues.ccxt")

T = TypeVar("T")
OnCall = Callable[[str, float, str | None], None]
"""``on_call(endpoint, seconds, error_kind)``: one per HTTP attempt, for metrics."""


class Kind(StrEnum):
    RATE_LIMITED = "rate_limited"
    UNREACHABLE = "unreachable"
    """The connection was never made: the request did not leave this machine."""
    TIMEOUT = "timeout"
    DISCONNECTED = "disconnected"
    """Dropped mid-way or a server error: the exchange may or may not have acted."""
    BAD_RESPONSE = "bad_response"
    CLOCK = "clock"
    NOT_FOUND = "not_found"
    DUPLICATE = "duplicate"
    INSUFFICIENT_FUNDS = "insufficient_funds"
    INVALID_ORDER = "invalid_order"
    AUTH = "auth"
    BAD_SYMBOL = "bad_symbol"
    NOT_SUPPORTED = "not_supported"
    REFUSED = "refused"
    MAINTENANCE = "maintenance"
    """The exchange says it is under maintenance: the request was not carried out."""
    FILTER = "filter"
    """Refused by one of the market's trading rules (Binance's ``Filter failure: MIN_NOTIONAL``,
    ``LOT_SIZE``, ``PRICE_FILTER`` …): the order's size or price does not fit them."""
    HALTED = "halted"
    """The market takes no order now (a symbol halted, or in BREAK: "Market is closed")."""


class Op(StrEnum):
    READ = "read"
    CREATE = "create"
    CANCEL = "cancel"


TRANSIENT = frozenset(
    {
        Kind.RATE_LIMITED,
        Kind.UNREACHABLE,
        Kind.TIMEOUT,
        Kind.DISCONNECTED,
        Kind.BAD_RESPONSE,
        Kind.CLOCK,
        Kind.MAINTENANCE,
    }
)
NOT_ACTED = frozenset({Kind.RATE_LIMITED, Kind.UNREACHABLE, Kind.CLOCK, Kind.MAINTENANCE})
"""Failures after which the exchange certainly did not carry the request out."""
AMBIGUOUS = TRANSIENT - NOT_ACTED

RETRY_SAFE: dict[Op, frozenset[Kind]] = {
    Op.READ: TRANSIENT,
    Op.CANCEL: TRANSIENT,
    Op.CREATE: NOT_ACTED,
}

_STATUS = re.compile(r"^\S+ [A-Z]+ \S+ (\d{3}) ")
_FILTER = re.compile(
    r"Filter failure: *(MIN_NOTIONAL|NOTIONAL|LOT_SIZE|MARKET_LOT_SIZE|PRICE_FILTER|PERCENT_PRICE)",
    re.IGNORECASE,
)
"""Binance's words for an order whose size or price breaks a market's filter (-1013, or -2010
on a stop): re-reading the rules and re-sizing can place it. A cap on the number of orders
(``MAX_NUM_ORDERS``, ``MAX_NUM_ALGO_ORDERS``) is a filter failure too, but no re-sizing helps:
it stays a plain refusal."""
_HALTED = re.compile(r"market is closed|trading is (halted|disabled)|symbol is halted", re.I)
"""An exchange's words for a market that takes no order now (a symbol in BREAK or HALT)."""


def http_status(exc: BaseException) -> int | None:
    """The HTTP status ccxt put in its message for status-code errors, if any."""
    match = _STATUS.match(str(exc))
    return int(match.group(1)) if match else None


def classify(exc: BaseException) -> Kind | None:
    """The kind of failure, or None for an exception that is not about the exchange (a bug)."""
    if isinstance(exc, ccxt.DuplicateOrderId):
        return Kind.DUPLICATE
    if isinstance(exc, ccxt.InvalidNonce):
        return Kind.CLOCK
    if isinstance(exc, ccxt.RateLimitExceeded | ccxt.DDoSProtection):
        return Kind.RATE_LIMITED
    if isinstance(exc, ccxt.RequestTimeout):
        return Kind.TIMEOUT
    if isinstance(exc, ccxt.OnMaintenance):
        return Kind.MAINTENANCE
    if isinstance(exc, ccxt.ExchangeNotAvailable):
        if isinstance(exc.__cause__, aiohttp.ClientConnectorError):
            return Kind.UNREACHABLE
        status = http_status(exc)
        if status is not None and 400 <= status < 500:
            return Kind.REFUSED  # e.g. an endpoint this exchange does not serve
        return Kind.DISCONNECTED
    if isinstance(exc, ccxt.NetworkError):
        return Kind.DISCONNECTED
    if isinstance(exc, ccxt.BadResponse):
        return Kind.BAD_RESPONSE
    if isinstance(exc, ccxt.OperationFailed):
        return Kind.DISCONNECTED  # Binance -1000/-1001/-1006: "execution status unknown"
    if isinstance(exc, ccxt.ExchangeError) and isinstance(exc.__cause__, aiohttp.ClientError):
        return Kind.BAD_RESPONSE  # a truncated body surfaces as a payload error
    if isinstance(exc, ccxt.OrderNotFound):
        return Kind.NOT_FOUND
    if isinstance(exc, ccxt.MarketClosed) or (
        isinstance(exc, ccxt.ExchangeError) and _HALTED.search(str(exc))
    ):
        return Kind.HALTED
    if isinstance(exc, ccxt.ExchangeError) and _FILTER.search(str(exc)):
        return Kind.FILTER
    if isinstance(exc, ccxt.InvalidOrder):
        return Kind.DUPLICATE if "duplicate order" in str(exc).lower() else Kind.INVALID_ORDER
    if isinstance(exc, ccxt.InsufficientFunds):
        return Kind.INSUFFICIENT_FUNDS
    if isinstance(exc, ccxt.AuthenticationError):
        return Kind.AUTH
    if isinstance(exc, ccxt.BadSymbol):
        return Kind.BAD_SYMBOL
    if isinstance(exc, ccxt.NotSupported):
        return Kind.NOT_SUPPORTED
    if isinstance(exc, ccxt.BaseError):
        return Kind.REFUSED
    if isinstance(exc, asyncio.TimeoutError | TimeoutError):
        return Kind.TIMEOUT
    if isinstance(exc, ConnectionError | aiohttp.ClientError):
        return Kind.DISCONNECTED
    if isinstance(
        exc,
        json.JSONDecodeError
        | ValueError
        | TypeError
        | KeyError
        | AttributeError
        | IndexError
        | ArithmeticError
        | InvalidOperation,
    ):
        # ccxt parsing a body that is not what the exchange normally sends.
        return Kind.BAD_RESPONSE
    return None


def exchange_message(exc: BaseException) -> str:
    """The exchange's own words (``msg`` of its JSON error) or ccxt's first line, shortened."""
    text = str(exc)
    start = text.find("{")
    if start >= 0:
        try:
            body = json.loads(text[start:])
        except ValueError:
            body = None
        if isinstance(body, dict) and isinstance(body.get("msg"), str):
            text = body["msg"]
    text = text.strip().splitlines()[0] if text.strip() else type(exc).__name__
    return (text[:157] + "…" if len(text) > 160 else text).rstrip(".")


def sentence(kind: Kind, exchange: str, exc: BaseException) -> str:
    detail = exchange_message(exc)
    return {
        Kind.RATE_LIMITED: f"{exchange} is limiting our requests (rate limit); the request was "
        "not carried out.",
        Kind.UNREACHABLE: f"Could not connect to {exchange}; the request was not sent.",
        Kind.TIMEOUT: f"{exchange} did not answer in time.",
        Kind.DISCONNECTED: f"{exchange} dropped the connection or failed with a server error.",
        Kind.BAD_RESPONSE: f"{exchange} sent an answer that could not be read.",
        Kind.CLOCK: f"{exchange} refused the request because this machine's clock is off "
        "(outside the exchange's recvWindow); sync the system time (NTP).",
        Kind.NOT_FOUND: f"{exchange} has no such order.",
        Kind.DUPLICATE: f"{exchange} already has an order with this client order id; no second "
        "order was made.",
        Kind.INSUFFICIENT_FUNDS: f"{exchange} refused the order ({detail}): the account does "
        "not hold enough free funds (coins or cash locked by other orders, withdrawn or moved by "
        "hand); check its free balance and open orders on the exchange.",
        Kind.INVALID_ORDER: f"{exchange} refused the order: {detail}.",
        Kind.AUTH: f"{exchange} refused the API key or its signature; check the key, the secret "
        "and their permissions.",
        Kind.BAD_SYMBOL: f"{exchange} does not list this market: {detail}.",
        Kind.NOT_SUPPORTED: f"{exchange} does not offer this request through ccxt.",
        Kind.REFUSED: f"{exchange} refused the request: {detail}.",
        Kind.MAINTENANCE: f"{exchange} is down for maintenance; the request was not carried "
        "out. Rampart tries again; watch the exchange's status page.",
        Kind.FILTER: f"{exchange} refused the order under the market's trading rules ({detail}): "
        "its size or price does not fit the market's filters (minimum order value, lot size, "
        "price step); check them on the exchange.",
        Kind.HALTED: f"{exchange} takes no order on this market now ({detail}): the symbol is "
        "halted or in a break; orders can be placed again once it trades.",
    }[kind]


def translate(exc: BaseException, kind: Kind, op: Op, exchange: str) -> RampartError:
    """The project's error for a failure that will not be retried (any more)."""
    if op is Op.CREATE and kind in AMBIGUOUS:
        return OutcomeUnknown(
            f"{sentence(kind, exchange, exc)} The order may or may not exist there; it is "
            "checked by its client order id."
        )
    if op is Op.CANCEL and kind in TRANSIENT:
        return OutcomeUnknown(
            f"{sentence(kind, exchange, exc)} The cancel is not confirmed; it is checked and "
            "sent again."
        )
    return VenueError(sentence(kind, exchange, exc), code=kind.value)


def _header(headers: Any, name: str) -> str | None:
    if not isinstance(headers, dict):
        return None
    lowered = name.lower()
    for key, value in headers.items():
        if str(key).lower() == lowered:
            return str(value)
    return None


ORDER_FLOWS = (Lane.PROTECT, Lane.ENTRY)


def lane_of(op: Op, asked: Lane | None) -> Spend:
    """The lane a call is paid from: a cancel protects; a create is its order's (the flow it
    is sent in, an entry by default); a read is the one its call site names, unless it is
    made for an order, whose lane pays the reads it needs (a stop-loss never waits behind
    reconciliation for the read before it). Polling applies to reads only."""
    around = context_spend()
    if op is Op.CANCEL:
        return Spend(Lane.PROTECT)
    if op is Op.CREATE:
        flow = around.lane if around.lane in ORDER_FLOWS else Lane.ENTRY
        return Spend(asked or flow)
    if around.lane in ORDER_FLOWS:
        return Spend(around.lane)
    return Spend(asked or around.lane or Lane.RECONCILE, around.poll)


class CcxtCaller:
    """Runs ccxt calls with the retry policy, timing each attempt for the ``on_call`` hook."""

    def __init__(
        self,
        exchange: str,
        clock: Clock,
        policy: RetryPolicy,
        *,
        rng: random.Random | None = None,
        on_call: OnCall | None = None,
        budget: RequestBudget | None = None,
    ) -> None:
        """``budget``: the request budget of the exchange and address every client of this
        caller pays each request from (:mod:`rampart.venues.request_budget`)."""
        self.exchange = exchange
        self.clock = clock
        self.policy = policy
        self.rng = rng or random.Random()  # noqa: S311 - retry backoff jitter, not a secret
        self.on_call = on_call
        self.errors: dict[str, int] = {}
        """Failed attempts by kind, since start (soak reports and tests read it)."""
        self.budget = budget
        self.on_headers: Callable[[Mapping[str, Any]], None] | None = None
        """Called with the exchange's response headers after each answered call (rate-limit
        headroom, :mod:`rampart.venues.rate_limits`)."""

    def _note(self, endpoint: str, seconds: float, kind: Kind | None) -> None:
        if kind is not None:
            self.errors[kind.value] = self.errors.get(kind.value, 0) + 1
        if self.on_call is not None:
            try:
                self.on_call(endpoint, seconds, kind.value if kind else None)
            except Exception:  # a metrics hook must never break trading
                log.exception("on_call_hook_failed", endpoint=endpoint)

    async def call(
        self,
        client: Any,
        endpoint: str,
        op: Op,
        fn: Callable[[], Awaitable[T]],
        check: Callable[[T], None] | None = None,
        lane: Lane | None = None,
    ) -> T:
        """``await fn()`` with retries; ``check`` validates the answer (raise to reject it).

        With a budget, each request is paid from a lane (:func:`lane_of`): ``lane`` is what
        the call is (market data, a reconciliation read, a protective create)."""
        # ccxt rounds through decimal_to_precision, which sets ROUND_HALF_UP and an Underflow trap
        # on the current decimal context and leaves them: a copy keeps the books' own context.
        with localcontext():
            if self.budget is None:
                return await self._call(client, endpoint, op, fn, check)
            return await self._budgeted(self.budget, client, endpoint, op, fn, check, lane)

    async def _budgeted(
        self,
        budget: RequestBudget,
        client: Any,
        endpoint: str,
        op: Op,
        fn: Callable[[], Awaitable[T]],
        check: Callable[[T], None] | None,
        lane: Lane | None,
    ) -> T:
        attach(client, budget)
        spend = lane_of(op, lane)
        with spending(spend.lane, poll=spend.poll):
            try:
                return await self._call(client, endpoint, op, fn, check)
            except BudgetRefused as exc:
                # Held back here, never sent: counted by the budget, not as an exchange error.
                raise VenueError(str(exc), code=Kind.RATE_LIMITED.value) from None

    async def _call(
        self,
        client: Any,
        endpoint: str,
        op: Op,
        fn: Callable[[], Awaitable[T]],
        check: Callable[[T], None] | None,
    ) -> T:
        backoff = Backoff(self.policy, self.rng)
        attempt = 0
        while True:
            attempt += 1
            started = time.perf_counter()
            try:
                result = await fn()
                if check is not None:
                    check(result)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                kind = classify(exc)
                if kind is None:
                    raise
                self._note(endpoint, time.perf_counter() - started, kind)
                if kind is Kind.CLOCK:
                    await self._resync(client)
                if attempt < self.policy.attempts and kind in RETRY_SAFE[op]:
                    delay = backoff.next_delay(self._retry_after(client, kind))
                    if not backoff.too_long(delay):
                        log.info(
                            "exchange_retry",
                            exchange=self.exchange,
                            endpoint=endpoint,
                            kind=kind.value,
                            attempt=attempt,
                            wait_s=round(delay, 3),
                        )
                        await self.clock.sleep(delay)
                        continue
                log.warning(
                    "exchange_call_failed",
                    exchange=self.exchange,
                    endpoint=endpoint,
                    kind=kind.value,
                    attempts=attempt,
                )
                raise translate(exc, kind, op, self.exchange) from None
            self._note(endpoint, time.perf_counter() - started, None)
            self._headers(client)
            return result

    def _headers(self, client: Any) -> None:
        headers = getattr(client, "last_response_headers", None)
        if self.on_headers is None or not isinstance(headers, Mapping) or not headers:
            return
        try:
            self.on_headers(headers)
        except Exception:  # a metrics hook must never break trading
            log.exception("on_headers_hook_failed")

    @staticmethod
    def _retry_after(client: Any, kind: Kind) -> float | None:
        if kind is not Kind.RATE_LIMITED:
            return None
        headers = getattr(client, "last_response_headers", None)
        # An HTTP date in Retry-After is absolute wall time by definition.
        return parse_retry_after(_header(headers, "Retry-After"), time.time())

    async def _resync(self, client: Any) -> None:
        """Learn the exchange's clock offset so the next signed request is in its window."""
        loader = getattr(client, "load_time_difference", None)
        if loader is None:
            return
        try:
            await loader()
        except Exception as exc:  # the retry itself reports what is still wrong
            log.info("time_resync_failed", exchange=self.exchange, error=type(exc).__name__)

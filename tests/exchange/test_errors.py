"""ccxt's exceptions → the project's errors, and the retry policy per kind, on a SimClock."""

from __future__ import annotations

import asyncio
import random
import socket

import aiohttp
import ccxt.async_support as ccxt
import pytest

from rampart.clock import SimClock
from rampart.domain.errors import OutcomeUnknown, VenueError
from rampart.venues.ccxt_client import make_client
from rampart.venues.ccxt_errors import (
    NOT_ACTED,
    RETRY_SAFE,
    CcxtCaller,
    Kind,
    Op,
    classify,
    exchange_message,
    translate,
)
from rampart.venues.retry import RetryPolicy


class Headers:
    """Stands where a ccxt client keeps the last response's headers (all the caller reads)."""

    def __init__(self, headers: dict[str, str] | None = None) -> None:
        self.last_response_headers = headers or {}


def _caused(exc: Exception, cause: BaseException) -> Exception:
    exc.__cause__ = cause
    return exc


@pytest.mark.parametrize(
    ("exc", "kind"),
    [
        (ccxt.RateLimitExceeded("binance 429"), Kind.RATE_LIMITED),
        (ccxt.DDoSProtection("binance 418"), Kind.RATE_LIMITED),
        (ccxt.RequestTimeout("binance GET url"), Kind.TIMEOUT),
        (ccxt.InvalidNonce("binance -1021"), Kind.CLOCK),
        (ccxt.OnMaintenance("binance"), Kind.MAINTENANCE),
        (
            ccxt.ExchangeNotAvailable(
                "binance POST http://h/api/v3/order 503 Service Unavailable x"
            ),
            Kind.DISCONNECTED,
        ),
        (
            ccxt.ExchangeNotAvailable("binance POST http://h/api/v3/orderList/oco 404 Not Found x"),
            Kind.REFUSED,
        ),
        (
            _caused(ccxt.ExchangeNotAvailable("binance"), aiohttp.ServerDisconnectedError()),
            Kind.DISCONNECTED,
        ),
        (
            _caused(ccxt.ExchangeError("binance GET url"), aiohttp.ClientPayloadError("cut")),
            Kind.BAD_RESPONSE,
        ),
        (ccxt.BadResponse("junk"), Kind.BAD_RESPONSE),
        (ccxt.OperationFailed('binance {"code":-1001,"msg":"Internal error"}'), Kind.DISCONNECTED),
        (
            ccxt.OrderNotFound('binance {"code":-2013,"msg":"Order does not exist."}'),
            Kind.NOT_FOUND,
        ),
        (ccxt.InvalidOrder('binance {"code":-2010,"msg":"Duplicate order sent."}'), Kind.DUPLICATE),
        (ccxt.DuplicateOrderId("dup"), Kind.DUPLICATE),
        (ccxt.InvalidOrder("binance LOT_SIZE"), Kind.INVALID_ORDER),
        (ccxt.InsufficientFunds("binance -2010"), Kind.INSUFFICIENT_FUNDS),
        (ccxt.AuthenticationError("binance -2015"), Kind.AUTH),
        (ccxt.PermissionDenied("binance"), Kind.AUTH),
        (ccxt.BadSymbol("binance -1121"), Kind.BAD_SYMBOL),
        (ccxt.NotSupported("binance"), Kind.NOT_SUPPORTED),
        (ccxt.BadRequest('binance {"code":-1013,"msg":"Filter failure: NOTIONAL"}'), Kind.FILTER),
        (
            ccxt.InvalidOrder('binance {"code":-2010,"msg":"Filter failure: MIN_NOTIONAL"}'),
            Kind.FILTER,
        ),
        # A cap on the number of orders is a filter failure no re-sizing fixes: a refusal.
        (
            ccxt.BadRequest('binance {"code":-1013,"msg":"Filter failure: MAX_NUM_ALGO_ORDERS"}'),
            Kind.REFUSED,
        ),
        (ccxt.MarketClosed('binance {"code":-1013,"msg":"Market is closed."}'), Kind.HALTED),
        (ccxt.InvalidOrder('binance {"code":-2010,"msg":"Market is closed."}'), Kind.HALTED),
        (ccxt.BadRequest('binance {"code":-1100,"msg":"Illegal characters"}'), Kind.REFUSED),
        (AttributeError("'str' object has no attribute 'get'"), Kind.BAD_RESPONSE),
        (TimeoutError(), Kind.TIMEOUT),
    ],
)
def test_classification(exc: Exception, kind: Kind) -> None:
    assert classify(exc) is kind


def test_a_bug_is_not_classified() -> None:
    assert classify(RuntimeError("a bug")) is None


def test_refusals_become_venue_errors_with_a_sentence_and_a_code() -> None:
    exc = ccxt.InsufficientFunds(
        'binance {"code":-2010,"msg":"Account has insufficient balance for requested action."}'
    )
    err = translate(exc, Kind.INSUFFICIENT_FUNDS, Op.CREATE, "binance")
    assert isinstance(err, VenueError) and err.code == "insufficient_funds"
    assert err.message.endswith(".") and "\n" not in err.message and "{" not in err.message
    bad = translate(
        ccxt.InvalidOrder('binance {"msg":"Filter failure: LOT_SIZE"}'),
        Kind.INVALID_ORDER,
        Op.CREATE,
        "binance",
    )
    assert bad.message == "binance refused the order: Filter failure: LOT_SIZE."
    assert exchange_message(ccxt.BadSymbol("binance does not have market symbol X/Y")) == (
        "binance does not have market symbol X/Y"
    )


@pytest.mark.parametrize(
    ("exc", "words"),
    [
        (
            ccxt.OnMaintenance("binance"),
            "binance is down for maintenance; the request was not carried out. Rampart tries "
            "again; watch the exchange's status page.",
        ),
        (
            ccxt.InvalidNonce(
                'binance {"code":-1021,"msg":"Timestamp for this request is outside of the '
                'recvWindow."}'
            ),
            "binance refused the request because this machine's clock is off (outside the "
            "exchange's recvWindow); sync the system time (NTP).",
        ),
        (
            ccxt.InsufficientFunds(
                'binance {"code":-2010,"msg":"Account has insufficient balance for requested '
                'action."}'
            ),
            "binance refused the order (Account has insufficient balance for requested action):"
            " the account does not hold enough free funds (coins or cash locked by other orders,"
            " withdrawn or moved by hand); check its free balance and open orders on the "
            "exchange.",
        ),
        (
            ccxt.BadRequest('binance {"code":-1013,"msg":"Filter failure: MIN_NOTIONAL"}'),
            "binance refused the order under the market's trading rules (Filter failure: "
            "MIN_NOTIONAL): its size or price does not fit the market's filters (minimum order "
            "value, lot size, price step); check them on the exchange.",
        ),
        (
            ccxt.MarketClosed('binance {"code":-1013,"msg":"Market is closed."}'),
            "binance takes no order on this market now (Market is closed): the symbol is halted "
            "or in a break; orders can be placed again once it trades.",
        ),
    ],
)
def test_each_exchange_code_met_has_a_sentence_an_operator_can_act_on(
    exc: Exception, words: str
) -> None:
    kind = classify(exc)
    assert kind is not None
    err = translate(exc, kind, Op.CREATE, "binance")
    assert isinstance(err, VenueError) and err.message == words and err.code == kind.value


def test_ambiguous_creates_and_unconfirmed_cancels_need_reconciliation() -> None:
    for kind in (Kind.TIMEOUT, Kind.DISCONNECTED, Kind.BAD_RESPONSE):
        err = translate(ccxt.RequestTimeout("t"), kind, Op.CREATE, "binance")
        assert isinstance(err, OutcomeUnknown) and not isinstance(err, VenueError)
    # A create refused before the exchange acted is a plain refusal: nothing was placed.
    for kind in NOT_ACTED:
        assert isinstance(translate(ccxt.RateLimitExceeded("r"), kind, Op.CREATE, "x"), VenueError)
    assert isinstance(
        translate(ccxt.RequestTimeout("t"), Kind.TIMEOUT, Op.CANCEL, "x"), OutcomeUnknown
    )
    assert isinstance(translate(ccxt.RequestTimeout("t"), Kind.TIMEOUT, Op.READ, "x"), VenueError)
    assert RETRY_SAFE[Op.CREATE] == NOT_ACTED


def _failing(errors: list[Exception], result: object = "ok"):
    calls = {"n": 0}

    async def fn() -> object:
        calls["n"] += 1
        if errors:
            raise errors.pop(0)
        return result

    return fn, calls


def _caller(clock: SimClock, attempts: int = 4, **kw) -> tuple[CcxtCaller, list]:
    seen: list = []
    caller = CcxtCaller(
        "binance",
        clock,
        RetryPolicy(attempts=attempts, base_s=1.0, cap_s=8.0, **kw),
        rng=random.Random(3),
        on_call=lambda endpoint, seconds, kind: seen.append((endpoint, kind)),
    )
    return caller, seen


def test_reads_are_retried_with_backoff_on_the_clock() -> None:
    async def go() -> None:
        clock = SimClock(0)
        caller, seen = _caller(clock)
        fn, calls = _failing([ccxt.RequestTimeout("t"), ccxt.ExchangeNotAvailable("x")])
        assert await caller.call(Headers(), "fetch_order", Op.READ, fn) == "ok"
        assert calls["n"] == 3
        assert seen == [
            ("fetch_order", "timeout"),
            ("fetch_order", "disconnected"),
            ("fetch_order", None),
        ]
        # Full jitter: the waits are within [0, 1] and [0, 2] seconds of simulated time.
        assert 0 <= clock.now_ms() <= 3000
        assert caller.errors == {"timeout": 1, "disconnected": 1}

    asyncio.run(go())


def test_a_timed_out_create_is_not_retried_and_is_unknown() -> None:
    async def go() -> None:
        clock = SimClock(0)
        caller, seen = _caller(clock)
        fn, calls = _failing([ccxt.RequestTimeout("t")])
        with pytest.raises(OutcomeUnknown):
            await caller.call(Headers(), "create_order", Op.CREATE, fn)
        assert calls["n"] == 1 and clock.now_ms() == 0

    asyncio.run(go())


def test_a_rate_limited_create_waits_out_retry_after_then_goes_through() -> None:
    async def go() -> None:
        clock = SimClock(0)
        caller, seen = _caller(clock)
        fn, calls = _failing([ccxt.RateLimitExceeded("429")])
        result = await caller.call(Headers({"retry-after": "7"}), "create_order", Op.CREATE, fn)
        assert result == "ok" and calls["n"] == 2
        assert 7000 <= clock.now_ms() <= 7700

    asyncio.run(go())


def test_a_ban_longer_than_the_longest_wait_fails_at_once() -> None:
    async def go() -> None:
        clock = SimClock(0)
        caller, _ = _caller(clock, max_wait_s=60)
        fn, calls = _failing([ccxt.DDoSProtection("418")] * 3)
        with pytest.raises(VenueError) as info:
            await caller.call(Headers({"Retry-After": "3600"}), "fetch_balance", Op.READ, fn)
        assert info.value.code == "rate_limited" and calls["n"] == 1 and clock.now_ms() == 0

    asyncio.run(go())


def test_refusals_are_never_retried_and_attempts_are_bounded() -> None:
    async def go() -> None:
        clock = SimClock(0)
        caller, _ = _caller(clock)
        fn, calls = _failing([ccxt.InsufficientFunds("no")])
        with pytest.raises(VenueError):
            await caller.call(Headers(), "create_order", Op.CREATE, fn)
        assert calls["n"] == 1
        fn, calls = _failing([ccxt.RequestTimeout("t")] * 10)
        with pytest.raises(VenueError) as info:
            await caller.call(Headers(), "fetch_open_orders", Op.READ, fn)
        assert calls["n"] == 4 and info.value.code == "timeout"

    asyncio.run(go())


def test_a_rejected_answer_is_a_bad_response() -> None:
    async def go() -> None:
        clock = SimClock(0)
        caller, seen = _caller(clock, attempts=2)
        fn, calls = _failing([], result="junk")

        def check(value: object) -> None:
            if value == "junk":
                raise ccxt.BadResponse("junk")

        with pytest.raises(OutcomeUnknown):
            await caller.call(Headers(), "create_order", Op.CREATE, fn, check=check)
        with pytest.raises(VenueError) as info:
            await caller.call(Headers(), "fetch_order", Op.READ, fn, check=check)
        assert info.value.code == "bad_response" and calls["n"] == 3

    asyncio.run(go())


def test_a_bug_in_the_call_propagates() -> None:
    async def go() -> None:
        caller, _ = _caller(SimClock(0))
        fn, _ = _failing([RuntimeError("bug")])
        with pytest.raises(RuntimeError):
            await caller.call(Headers(), "fetch_order", Op.READ, fn)

    asyncio.run(go())


def test_a_closed_port_is_unreachable_through_the_real_client() -> None:
    async def go() -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        client = make_client("binance", api_url=f"http://127.0.0.1:{port}", timeout_s=2)
        clock = SimClock(0)
        caller, seen = _caller(clock, attempts=2)
        try:
            with pytest.raises(VenueError) as info:
                await caller.call(client, "fetch_time", Op.READ, lambda: client.fetch_time())
        finally:
            await client.close()
        assert info.value.code == "unreachable"
        assert info.value.message == "Could not connect to binance; the request was not sent."
        assert seen == [("fetch_time", "unreachable")] * 2

    asyncio.run(go())

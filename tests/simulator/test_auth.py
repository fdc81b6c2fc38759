"""Request authentication: API key, HMAC signature, timestamp and recvWindow."""

from __future__ import annotations

from typing import Any

import ccxt.async_support as ccxt_async
import pytest

from rampart_testkit.simulator import SimulatorHandle, ccxt_client
from rampart_testkit.simulator.signing import sign, split_signature
from tests.simulator.helpers import with_sim


async def _balance_with(sim: SimulatorHandle, key: str, secret: str, **config: Any) -> Any:
    client = ccxt_client(sim.url, key, secret, enableRateLimit=False, **config)
    try:
        return await client.fetch_balance()
    finally:
        await client.close()


def test_bad_signature_and_bad_keys_are_refused() -> None:
    async def body(sim: SimulatorHandle, ex: Any) -> None:
        acct = next(iter(sim.exchange.keys.values()))
        with pytest.raises(ccxt_async.AuthenticationError, match="-1022"):
            await _balance_with(sim, acct.key, "f" * 64)
        with pytest.raises(ccxt_async.AuthenticationError, match="-2015"):
            await _balance_with(sim, "a" * 64, acct.secret)
        with pytest.raises(ccxt_async.AuthenticationError, match="-2014"):
            await _balance_with(sim, "not a key!", acct.secret)
        # Public data needs no key.
        assert (await ex.fetch_ticker("BTC/USDT"))["last"] > 0

    with_sim(body)


def test_timestamp_outside_the_recv_window() -> None:
    async def body(sim: SimulatorHandle, ex: Any) -> None:
        sim.faults.add("skew", skew_ms=30_000)  # the server runs ahead: our stamp is too old
        with pytest.raises(ccxt_async.InvalidNonce, match="outside of the recvWindow"):
            await ex.fetch_balance()
        sim.faults.clear()
        sim.faults.add("skew", skew_ms=-30_000)  # the server runs behind: our stamp is ahead
        with pytest.raises(ccxt_async.InvalidNonce, match="ahead of the server"):
            await ex.fetch_balance()
        # ccxt's own remedy: measure the difference from the server's time and apply it.
        await ex.load_time_difference()
        assert (await ex.fetch_balance())["USDT"]["free"] == 10000
        assert sim.state()["orders"] == 0

    with_sim(body)


def test_recv_window_is_honoured_and_bounded() -> None:
    async def body(sim: SimulatorHandle, ex: Any) -> None:
        sim.faults.add("skew", skew_ms=15_000)  # ccxt sends recvWindow=10000
        with pytest.raises(ccxt_async.InvalidNonce):
            await ex.fetch_balance()
        ex.options["recvWindow"] = 20_000
        assert (await ex.fetch_balance())["USDT"]["total"] == 10000
        ex.options["recvWindow"] = 70_000
        with pytest.raises(ccxt_async.ExchangeError, match="-1131"):
            await ex.fetch_balance()

    with_sim(body)


def test_signature_covers_query_then_body_without_itself() -> None:
    secret = "s3cr3t"
    query = "symbol=BTCUSDT&timestamp=1"
    body = f"quantity=1&signature={sign(query + 'quantity=1', secret)}"
    signed, signature = split_signature(query, body)
    assert signed == query + "quantity=1" and signature == sign(signed, secret)
    signed, signature = split_signature(f"signature=abc&{query}", "")
    assert (signed, signature) == (query, "abc")
    assert split_signature(query, "") == (query, None)


def test_on_an_injected_clock_only_the_test_decides_whether_a_request_was_late() -> None:
    """The receive window on a clock the test moves: the wall time a loaded machine spends
    between signing and checking changes nothing; a ``latency`` fault makes the request arrive
    that much later on that clock."""
    now = {"ms": 1_800_000_000_000}

    def clock_ms() -> int:
        return now["ms"]

    async def body(sim: SimulatorHandle, ex: Any) -> None:
        sim.context.clock_ms = clock_ms
        acct = next(iter(sim.exchange.keys.values()))
        window = {"options": {"recvWindow": 500}}
        # The injected clock is months from the wall's: only the injected one counts.
        balance = await _balance_with(sim, acct.key, acct.secret, clock_ms=clock_ms, **window)
        assert balance["USDT"]["free"] == 10000
        account = ["/api/v3/account"]  # the signed request (a fresh client first loads markets)
        sim.faults.add("latency", latency_ms=600, count=1, paths=account)  # 600 ms late
        with pytest.raises(ccxt_async.InvalidNonce, match="outside of the recvWindow"):
            await _balance_with(sim, acct.key, acct.secret, clock_ms=clock_ms, **window)
        sim.faults.add("latency", latency_ms=400, count=1, paths=account)  # inside the window
        await _balance_with(sim, acct.key, acct.secret, clock_ms=clock_ms, **window)

    with_sim(body)

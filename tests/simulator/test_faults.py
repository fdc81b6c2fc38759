"""Each fault as the real ccxt client sees it, and a retried order that exists exactly once."""

from __future__ import annotations

from typing import Any

import ccxt.async_support as ccxt_async
import pytest

from rampart_testkit.simulator import SimulatorHandle, ccxt_client
from tests.simulator.helpers import with_sim

ORDER = "/api/v3/order"


async def _buy(ex: Any, client_id: str, qty: float = 0.001) -> Any:
    return await ex.create_order(
        "BTC/USDT", "market", "buy", qty, params={"clientOrderId": client_id}
    )


def _orders(sim: SimulatorHandle) -> int:
    return sim.state()["orders"]


def test_latency_beyond_the_client_timeout_is_a_request_timeout() -> None:
    async def body(sim: SimulatorHandle, ex: Any) -> None:
        sim.faults.add("latency", latency_ms=20, count=1)
        assert (await ex.fetch_balance())["USDT"]["free"] == 10000
        impatient = ccxt_client(sim.url, ex.apiKey, ex.secret, enableRateLimit=False, timeout=300)
        try:
            sim.faults.add("latency", latency_ms=1000, count=1, paths=[ORDER])
            with pytest.raises(ccxt_async.RequestTimeout):
                await _buy(impatient, "slow-1")
        finally:
            await impatient.close()
        # The server finishes the request after the client gave up: the order exists once.
        await sim.idle()
        order = await ex.fetch_order(None, "BTC/USDT", params={"origClientOrderId": "slow-1"})
        assert order["status"] == "closed" and _orders(sim) == 1

    with_sim(body)


def test_dropped_connection_is_a_network_error_and_does_nothing() -> None:
    async def body(sim: SimulatorHandle, ex: Any) -> None:
        sim.faults.add("drop", count=1, paths=[ORDER], methods=["POST"])
        with pytest.raises(ccxt_async.ExchangeNotAvailable):
            await _buy(ex, "drop-1")
        assert _orders(sim) == 0
        # aiohttp retries an idempotent GET once on a dropped keep-alive connection, so a GET
        # needs two drops in a row to fail.
        sim.faults.add("drop", count=2, paths=["/api/v3/account"])
        with pytest.raises(ccxt_async.NetworkError):
            await ex.fetch_balance()
        assert (await _buy(ex, "drop-1"))["status"] == "closed"
        assert sim.faults.fired["drop"] == 3

    with_sim(body)


def test_http_5xx() -> None:
    async def body(sim: SimulatorHandle, ex: Any) -> None:
        for status in (500, 502, 503):
            sim.faults.add("error", status=status, count=1)
            with pytest.raises(ccxt_async.ExchangeNotAvailable):
                await _buy(ex, f"e-{status}")
        sim.faults.add("error", status=503, code=-1001, count=1)
        with pytest.raises(ccxt_async.OperationFailed, match="-1001"):
            await ex.fetch_balance()
        assert _orders(sim) == 0

    with_sim(body)


def test_rate_limit_burst_with_retry_after_then_ban() -> None:
    async def body(sim: SimulatorHandle, ex: Any) -> None:
        sim.faults.add("rate_limit", count=2, retry_after_s=7)
        for _ in range(2):
            with pytest.raises(ccxt_async.DDoSProtection, match="-1003"):
                await ex.fetch_balance()
            assert ex.last_response_headers["Retry-After"] == "7"
        assert (await ex.fetch_balance())["USDT"]["free"] == 10000
        sim.faults.add("rate_limit", count=1, retry_after_s=60, ban=True)
        with pytest.raises(ccxt_async.DDoSProtection):
            await _buy(ex, "rl-1")
        with pytest.raises(ccxt_async.DDoSProtection, match="banned"):
            await _buy(ex, "rl-1")  # came back before Retry-After: 418
        assert _orders(sim) == 0
        assert sim.context.errors[418] == 1 and sim.context.errors[429] == 3
        sim.faults.clear("rate_limit")
        assert (await _buy(ex, "rl-1"))["status"] == "closed"

    with_sim(body)


def test_lost_response_order_exists_exactly_once_after_retry() -> None:
    async def body(sim: SimulatorHandle, ex: Any) -> None:
        sim.faults.add("lost_response", count=1)
        with pytest.raises(ccxt_async.NetworkError):
            await _buy(ex, "lost-1")
        with pytest.raises(ccxt_async.InvalidOrder, match="Duplicate order sent"):
            await _buy(ex, "lost-1")
        found = await ex.fetch_order(None, "BTC/USDT", params={"origClientOrderId": "lost-1"})
        assert found["status"] == "closed" and found["filled"] == pytest.approx(0.001)
        orders = await ex.fetch_orders("BTC/USDT")
        assert [o["clientOrderId"] for o in orders] == ["lost-1"]
        assert len(await ex.fetch_my_trades("BTC/USDT")) == 1

    with_sim(body)


def test_malformed_json_is_not_an_exception_in_ccxt() -> None:
    async def body(sim: SimulatorHandle, ex: Any) -> None:
        sim.faults.add("malformed", count=1)
        balance = await ex.fetch_balance()
        # ccxt hands back the raw text: callers must check that ``info`` is structured.
        assert isinstance(balance["info"], str)
        sim.faults.add("malformed", count=1)
        order = await _buy(ex, "mal-1")
        assert isinstance(order["info"], str) and order["id"] is None
        found = await ex.fetch_order(None, "BTC/USDT", params={"origClientOrderId": "mal-1"})
        assert found["status"] == "closed" and _orders(sim) == 1

    with_sim(body)


def test_truncated_body_is_an_exchange_error_after_the_work_was_done() -> None:
    async def body(sim: SimulatorHandle, ex: Any) -> None:
        sim.faults.add("truncated", count=1, paths=[ORDER])
        with pytest.raises(ccxt_async.ExchangeError) as caught:
            await _buy(ex, "tr-1")
        assert not isinstance(caught.value, ccxt_async.NetworkError)
        found = await ex.fetch_order(None, "BTC/USDT", params={"origClientOrderId": "tr-1"})
        assert found["status"] == "closed" and _orders(sim) == 1

    with_sim(body)


def test_clock_skew_is_an_invalid_nonce() -> None:
    async def body(sim: SimulatorHandle, ex: Any) -> None:
        sim.faults.add("skew", skew_ms=60_000)
        with pytest.raises(ccxt_async.InvalidNonce):
            await _buy(ex, "sk-1")
        assert await ex.fetch_time() >= sim.context.server_ms() - 1000
        assert _orders(sim) == 0

    with_sim(body)


def test_faults_keep_to_their_paths_and_methods() -> None:
    async def body(sim: SimulatorHandle, ex: Any) -> None:
        sim.faults.add("error", paths=[ORDER], methods=["DELETE"])
        await ex.fetch_balance()
        placed = await ex.create_order("BTC/USDT", "limit", "buy", 0.001, 30000)
        with pytest.raises(ccxt_async.ExchangeNotAvailable):
            await ex.cancel_order(placed["id"], "BTC/USDT")
        assert (await ex.fetch_order(placed["id"], "BTC/USDT"))["status"] == "open"

    with_sim(body)


RETRYABLE = (ccxt_async.NetworkError, ccxt_async.ExchangeError)


async def _resolve(ex: Any, client_id: str) -> Any:
    """What a careful client does: ask by client id until the exchange answers."""
    for _ in range(50):
        try:
            found = await ex.fetch_order(None, "BTC/USDT", params={"origClientOrderId": client_id})
        except ccxt_async.OrderNotFound:
            return None
        except RETRYABLE:
            continue
        if isinstance(found["info"], dict):
            return found
    raise AssertionError(f"{client_id} could not be resolved")


def test_all_faults_mixed_leave_every_order_exactly_once() -> None:
    async def body(sim: SimulatorHandle, ex: Any) -> None:
        for kind in ("drop", "error", "rate_limit", "lost_response", "malformed", "truncated"):
            sim.faults.add(kind, probability=0.08)
        sim.faults.add("latency", latency_ms=5, probability=0.2)
        wanted = [f"mix-{i}" for i in range(30)]
        for n, client_id in enumerate(wanted, start=1):
            for _ in range(50):
                try:
                    result = await _buy(ex, client_id)
                    if isinstance(result["info"], dict):
                        break
                except ccxt_async.InvalidOrder as exc:
                    if "Duplicate" in str(exc):
                        break
                    raise
                except RETRYABLE:
                    pass
                if await _resolve(ex, client_id) is not None:
                    break
            if n % 10 == 0:
                await sim.advance(1)
        sim.faults.clear()
        orders = await ex.fetch_orders("BTC/USDT", limit=1000)
        ids = [o["clientOrderId"] for o in orders]
        assert sorted(ids) == sorted(wanted)  # none lost, none twice
        trades = await ex.fetch_my_trades("BTC/USDT", limit=1000)
        assert sum(t["amount"] for t in trades) == pytest.approx(0.001 * len(wanted))
        fired = sim.faults.fired
        assert {"drop", "error", "rate_limit", "lost_response", "malformed"} <= set(fired)

    with_sim(body, balances={"USDT": "100000"})


def test_request_limit_answers_429_with_retry_after_and_used_weight() -> None:
    async def body(sim: SimulatorHandle, ex: Any) -> None:
        # load_markets made the first request of this minute: exchangeInfo weighs 20.
        assert ex.last_response_headers["X-MBX-USED-WEIGHT-1M"] == "20"
        await ex.fetch_balance()  # account: 20
        assert ex.last_response_headers["X-MBX-USED-WEIGHT-1M"] == "40"
        await ex.fetch_ticker("BTC/USDT")  # 24hr ticker of one symbol: 2
        assert ex.last_response_headers["X-MBX-USED-WEIGHT-1M"] == "42"
        with pytest.raises(ccxt_async.DDoSProtection, match="current limit is 45 request weight"):
            await ex.fetch_balance()
        assert 1 <= int(ex.last_response_headers["Retry-After"]) <= 60
        assert sim.context.errors[429] == 1
        # Sending on through the 429's Retry-After is what Binance bans an address for (418).
        for _ in range(3):
            with pytest.raises(ccxt_async.DDoSProtection):
                await ex.fetch_ticker("BTC/USDT")
        assert sim.context.errors[429] == 3 and sim.context.errors[418] == 1
        assert int(ex.last_response_headers["Retry-After"]) == 120
        assert sim.context.weights.bans == 1

    with_sim(body, request_limit=45)

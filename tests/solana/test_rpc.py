"""RpcPool over httpx.MockTransport: fail-over on each fault, fail-back after a probe, and one
plain sentence when every node fails."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from rampart.domain.errors import OutcomeUnknown, VenueError
from rampart.venues.solana.rpc import RpcError, RpcPool

from .client_kit import Recorder, aio


class Nodes:
    """Two or three fake nodes; ``fault[name]`` is what each does now."""

    def __init__(self, names: list[str]) -> None:
        self.fault: dict[str, str | None] = dict.fromkeys(names)
        self.slot: dict[str, int] = dict.fromkeys(names, 1000)
        self.hits: dict[str, list[str]] = {n: [] for n in names}

    def handler(self, request: httpx.Request) -> httpx.Response:
        name = request.url.path.rsplit("/", 1)[-1]
        body = json.loads(request.content)
        self.hits[name].append(body["method"])
        fault = self.fault[name]
        if fault == "down":
            raise httpx.ConnectError("refused", request=request)
        if fault == "timeout":
            raise httpx.ReadTimeout("slow", request=request)
        if fault == "429":
            return httpx.Response(429, json={"error": "slow down"})
        if fault == "5xx":
            return httpx.Response(503, text="bad gateway")
        method = body["method"]
        result: Any
        if method == "getHealth":
            if fault == "behind":
                return _error(body, -32005, "Node is behind by 80 slots")
            result = "ok"
        elif method == "getSlot":
            result = self.slot[name]
        elif method == "getBalance":
            result = {"context": {"slot": self.slot[name]}, "value": 5}
        elif method == "sendTransaction":
            return _error(body, -32002, "Transaction simulation failed: Blockhash not found")
        else:
            return _error(body, -32601, "Method not found")
        return httpx.Response(200, json={"jsonrpc": "2.0", "id": body["id"], "result": result})


def _error(body: dict[str, Any], code: int, message: str) -> httpx.Response:
    error = {"code": code, "message": message}
    return httpx.Response(200, json={"jsonrpc": "2.0", "id": body["id"], "error": error})


async def _no_sleep(seconds: float) -> None:
    del seconds


def _pool(nodes: Nodes, obs: Recorder, **kw: Any) -> RpcPool:
    client = httpx.AsyncClient(transport=httpx.MockTransport(nodes.handler))
    urls = [f"http://rpc.test/rpc/{n}?api-key=SECRETKEY" for n in nodes.fault]
    return RpcPool(urls, client=client, observer=obs, sleep=_no_sleep, **kw)


@pytest.mark.parametrize(
    ("fault", "outcome"),
    [("down", "down"), ("timeout", "timeout"), ("429", "http_429"), ("5xx", "http_5xx")],
)
@aio
async def test_a_failing_primary_hands_the_call_to_the_next_node(fault: str, outcome: str) -> None:
    nodes, obs = Nodes(["a", "b"]), Recorder()
    pool = _pool(nodes, obs)
    nodes.fault["a"] = fault
    assert (await pool.call("getBalance", ["x"]))["value"] == 5
    assert nodes.hits["b"] == ["getBalance"]
    assert pool.up() == {"rpc.test": False, "rpc.test#2": True}
    assert obs.failovers[0][:2] == ("rpc.test", "rpc.test#2")
    assert ("rpc.test", "getBalance", outcome) in obs.calls
    # Later calls stay on b while a is down: a is not asked again.
    await pool.call("getBalance", ["x"])
    assert nodes.hits["a"] == ["getBalance"]
    # The API key in the URL never reaches the observer.
    assert all("SECRETKEY" not in c[0] for c in obs.calls)


@aio
async def test_probe_fails_back_to_the_primary_once_it_is_healthy() -> None:
    nodes, obs = Nodes(["a", "b"]), Recorder()
    pool = _pool(nodes, obs)
    nodes.fault["a"] = "down"
    await pool.call("getBalance", ["x"])
    assert pool.active.name == "rpc.test#2"
    await pool.probe()  # still down: stays on b
    assert pool.active.name == "rpc.test#2"
    nodes.fault["a"] = None
    await pool.probe()
    assert pool.active.name == "rpc.test"
    assert obs.failovers[-1] == ("rpc.test#2", "rpc.test", "primary healthy again")
    assert pool.up() == {"rpc.test": True, "rpc.test#2": True}


@aio
async def test_a_lagging_node_is_left_for_one_in_step() -> None:
    nodes, obs = Nodes(["a", "b"]), Recorder()
    pool = _pool(nodes, obs, lag_slots=50)
    await pool.probe()
    nodes.slot["a"] = 900  # the primary falls 100 slots behind b's 1000
    assert (await pool.call("getBalance", ["x"]))["value"] == 5
    assert pool.active.name == "rpc.test#2"
    assert pool.up()["rpc.test"] is False
    nodes.slot["a"] = 990  # within 50 slots again
    await pool.probe()
    assert pool.active.name == "rpc.test"


@aio
async def test_a_node_saying_it_is_behind_is_down_at_probe() -> None:
    nodes, obs = Nodes(["a", "b"]), Recorder()
    pool = _pool(nodes, obs)
    nodes.fault["a"] = "behind"
    await pool.probe()
    assert pool.up()["rpc.test"] is False
    assert pool.active.name == "rpc.test#2"
    assert ("rpc.test", False, 0) in obs.health


@aio
async def test_every_node_failing_is_one_plain_sentence() -> None:
    nodes, obs = Nodes(["a", "b"]), Recorder()
    pool = _pool(nodes, obs)
    nodes.fault["a"] = nodes.fault["b"] = "down"
    with pytest.raises(VenueError) as err:
        await pool.call("getBalance", ["x"])
    assert err.value.code == "rpc_down"
    assert err.value.message.startswith("Every Solana RPC node failed the getBalance call")
    assert "\n" not in err.value.message and "SECRETKEY" not in err.value.message
    # Two rounds over both nodes.
    assert len(nodes.hits["a"]) == len(nodes.hits["b"]) == 2
    with pytest.raises(OutcomeUnknown):
        await pool.send_transaction("AAAA")


@aio
async def test_a_refusal_is_not_a_failover() -> None:
    nodes, obs = Nodes(["a", "b"]), Recorder()
    pool = _pool(nodes, obs)
    with pytest.raises(RpcError) as err:
        await pool.send_transaction("AAAA")
    assert err.value.rpc_code == -32002
    assert nodes.hits["b"] == [] and obs.failovers == []
    assert pool.up()["rpc.test"] is True


def test_node_names_keep_provider_tokens_out_of_metrics_and_logs() -> None:
    pool = RpcPool(
        [
            "https://acme.example/3f9c2d1e-token/?api-key=SECRETKEY",
            "https://acme.example/other-token/",
            "http://127.0.0.1:8899/rpc/a",
        ]
    )
    assert [e.name for e in pool.endpoints] == [
        "acme.example",
        "acme.example#2",
        "127.0.0.1:8899/rpc/a",
    ]

"""The RPC PubSub websocket's signatureSubscribe against the Solana RPC reference's examples
(``solana_rpc/signature_subscribe.json``): the stand-in answers in those shapes, and the
venue's watch reads every documented notification, a failed transaction's error included."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp

from rampart.venues.solana.sigwatch import SignatureWatch, Watched
from rampart_testkit.solana_sim import SolanaSimHandle
from tests.solana.sim_helpers import SOL, USDC, SimClient, funded_user, with_solana_sim

from .shapes import fixture, shape_errors

DOC = fixture("solana_rpc", "signature_subscribe.json")


async def _next(ws: aiohttp.ClientWebSocketResponse) -> Any:
    return json.loads((await ws.receive(timeout=5)).data)


def test_the_stand_in_serves_signature_subscriptions_in_the_documented_shapes() -> None:
    async def body(sim: SolanaSimHandle, c: SimClient) -> None:
        user = funded_user(sim)
        _, tx = await c.signed_swap("jupiter", user, USDC, SOL, 10**9, "ExactOut")
        signature = str(tx.signatures[0])
        async with aiohttp.ClientSession() as http, http.ws_connect(sim.ws_url("a")) as ws:
            request = {
                **DOC["subscribe"]["request"],
                "params": [signature, {"commitment": "confirmed"}],
            }
            await ws.send_json(request)
            ack = await _next(ws)
            assert shape_errors(DOC["subscribe"]["body"], ack) == []
            await c.send(tx)
            await sim.advance(1)  # processed: not yet at the asked commitment
            await sim.advance(1)  # confirmed: told once
            told = await _next(ws)
            assert shape_errors(DOC["notification"], told) == []
            assert told["params"]["subscription"] == ack["result"]
            assert told["params"]["result"]["value"] == {"err": None}
            # Another, unsubscribed: the documented answer; once told, a subscription is gone.
            await ws.send_json({**DOC["subscribe"]["request"], "id": 2})
            other = await _next(ws)
            await ws.send_json({**DOC["unsubscribe"]["request"], "params": [other["result"]]})
            assert shape_errors(DOC["unsubscribe"]["body"], await _next(ws)) == []
            await ws.send_json({**DOC["unsubscribe"]["request"], "params": [ack["result"]]})
            assert "error" in await _next(ws)

    with_solana_sim(body)


def test_the_watch_reads_the_documented_notifications() -> None:
    async def main() -> None:
        watch = SignatureWatch(["ws://127.0.0.1:1/"])
        for name, err in (
            ("notification", None),
            ("notification_failed", {"InstructionError": [0, {"Custom": 6001}]}),
        ):
            watched = Watched("sig")
            await watch._on_message(json.dumps({**DOC["subscribe"]["body"], "result": 24006}))
            watch._by_request.clear()
            watch._by_sub[24006] = watched
            await watch._on_message(json.dumps(DOC[name]))
            assert watched.event.is_set() and watched.told, name
            assert watched.err == err, name
        # Noise is ignored, not fatal: not JSON, an unknown subscription, an odd value.
        for noise in ("{", "[]", json.dumps({**DOC["notification"], "params": None})):
            await watch._on_message(noise)
        await watch.aclose()

    asyncio.run(main())

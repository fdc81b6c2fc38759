"""Running a test body against a fresh Solana stand-in over real HTTP (httpx), and the steps
of one swap as a client takes them: quote, swap, sign with a real keypair, send."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Awaitable, Callable
from typing import Any

import base58
import httpx
from solders.keypair import Keypair
from solders.transaction import VersionedTransaction

from rampart_testkit.solana_sim import SolanaSimHandle, start_solana_sim

Body = Callable[[SolanaSimHandle, "SimClient"], Awaitable[None]]
SOL = "So11111111111111111111111111111111111111112"
USDC = "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v"


def with_solana_sim(body: Body, **sim_kwargs: Any) -> None:
    """Run ``body(sim, client)`` on a fresh stand-in (no slot timer unless ``slot_ms`` given)."""

    async def main() -> None:
        sim_kwargs.setdefault("slot_ms", 0)
        async with (
            start_solana_sim(**sim_kwargs) as sim,
            httpx.AsyncClient(timeout=5) as http,
        ):
            await body(sim, SimClient(sim, http))

    asyncio.run(main())


class SimClient:
    def __init__(self, sim: SolanaSimHandle, http: httpx.AsyncClient) -> None:
        self.sim = sim
        self.jupiter_key = {"x-api-key": sim.jupiter_api_key}
        self.http = http
        self._ids = 0

    async def rpc_raw(self, method: str, params: list[Any], node: str = "a") -> httpx.Response:
        self._ids += 1
        body = {"jsonrpc": "2.0", "id": self._ids, "method": method, "params": params}
        return await self.http.post(self.sim.rpc_url(node), json=body)

    async def rpc(self, method: str, params: list[Any], node: str = "a") -> dict[str, Any]:
        """The whole JSON-RPC answer (``result`` or ``error``)."""
        response = await self.rpc_raw(method, params, node)
        assert response.status_code == 200, response.text
        answer: dict[str, Any] = response.json()
        return answer

    async def result(self, method: str, params: list[Any], node: str = "a") -> Any:
        answer = await self.rpc(method, params, node)
        assert "error" not in answer, answer
        return answer["result"]

    async def quote(
        self,
        route: str,
        input_mint: str,
        output_mint: str,
        amount: int,
        mode: str = "ExactIn",
        slippage_bps: int = 50,
    ) -> dict[str, Any]:
        params = {
            "inputMint": input_mint,
            "outputMint": output_mint,
            "amount": str(amount),
            "slippageBps": str(slippage_bps),
            "swapMode": mode,
        }
        if route == "bags":  # bags.fm: no swap mode (amount is the input), manual slippage
            assert mode == "ExactIn", "bags.fm quotes an exact input only"
            del params["swapMode"]
            params["slippageMode"] = "manual"
        if route == "jupiter":
            r = await self.http.get(
                self.sim.jupiter_url + "/quote", params=params, headers=self.jupiter_key
            )
            assert r.status_code == 200, r.text
            quote: dict[str, Any] = r.json()
            return quote
        r = await self.http.get(
            self.sim.bags_url + "/trade/quote",
            params=params,
            headers={"x-api-key": self.sim.api_key},
        )
        assert r.status_code == 200, r.text
        bags: dict[str, Any] = r.json()["response"]
        return bags

    async def swap_tx(
        self, route: str, quote: dict[str, Any], user: Keypair, priority: int = 10_000
    ) -> VersionedTransaction:
        body = {
            "quoteResponse": quote,
            "userPublicKey": str(user.pubkey()),
            "wrapAndUnwrapSol": False,
            "prioritizationFeeLamports": priority,
        }
        if route == "jupiter":
            r = await self.http.post(
                self.sim.jupiter_url + "/swap", json=body, headers=self.jupiter_key
            )
            assert r.status_code == 200, r.text
            raw = r.json()["swapTransaction"]
        else:
            r = await self.http.post(
                self.sim.bags_url + "/trade/swap",
                json=body,
                headers={"x-api-key": self.sim.api_key},
            )
            assert r.status_code == 200, r.text
            encoded = r.json()["response"]["swapTransaction"]
            return VersionedTransaction.from_bytes(base58.b58decode(encoded))
        return VersionedTransaction.from_bytes(base64.b64decode(raw))

    async def send(self, tx: VersionedTransaction, node: str = "a") -> dict[str, Any]:
        cfg = {
            "encoding": "base64",
            "skipPreflight": False,
            "preflightCommitment": "confirmed",
            "maxRetries": 0,
        }
        return await self.rpc("sendTransaction", [base64.b64encode(bytes(tx)).decode(), cfg], node)

    async def signed_swap(
        self,
        route: str,
        user: Keypair,
        input_mint: str,
        output_mint: str,
        amount: int,
        mode: str = "ExactIn",
        priority: int = 10_000,
        slippage_bps: int = 50,
    ) -> tuple[dict[str, Any], VersionedTransaction]:
        quote = await self.quote(route, input_mint, output_mint, amount, mode, slippage_bps)
        unsigned = await self.swap_tx(route, quote, user, priority)
        return quote, VersionedTransaction(unsigned.message, [user])

    async def status(self, signature: str, node: str = "a") -> dict[str, Any] | None:
        result = await self.result(
            "getSignatureStatuses", [[signature], {"searchTransactionHistory": True}], node
        )
        status: dict[str, Any] | None = result["value"][0]
        return status


def funded_user(sim: SolanaSimHandle, usdc: int = 10_000, sol: int = 10) -> Keypair:
    user = Keypair()
    sim.fund(str(user.pubkey()), lamports=10**9, tokens={USDC: usdc * 10**6, SOL: sol * 10**9})
    return user

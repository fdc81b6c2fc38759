"""Balances are read at the commitment fills are reported at: a swap that has only been
processed is in neither, so reconciliation never compares books without a fill against a
wallet that already holds it (which it would "repair" as cash or coins moved by hand)."""

from __future__ import annotations

from decimal import Decimal

from rampart.venues.solana import reconcile
from rampart.venues.solana.rpc import RpcPool
from rampart_testkit.solana_sim import SolanaSimHandle

from .sim_helpers import SOL, USDC, SimClient, funded_user, with_solana_sim

ASSETS = {SOL: "SOL", USDC: "USDC"}


def test_a_processed_swap_is_in_the_balances_only_once_confirmed() -> None:
    async def body(sim: SolanaSimHandle, c: SimClient) -> None:
        user = funded_user(sim)
        owner = str(user.pubkey())
        rpc = RpcPool([sim.rpc_url("a")], client=c.http)

        async def held(commitment: str) -> tuple[Decimal, Decimal]:
            b = await reconcile.balances(rpc, owner, ASSETS, commitment)
            return b["SOL"].total, b["USDC"].total

        before = await held("confirmed")
        _, tx = await c.signed_swap("jupiter", user, USDC, SOL, 2 * 10**9, "ExactOut")
        await c.send(tx)
        await sim.advance(1)  # landed: processed, not yet confirmed
        assert (await c.status(str(tx.signatures[0])) or {}).get("confirmationStatus") == (
            "processed"
        )
        assert await held("confirmed") == before
        processed = await held("processed")
        assert processed[0] == before[0] + 2  # the node's processed view has it
        await sim.advance(1)  # confirmed
        assert await held("confirmed") == processed

    with_solana_sim(body, slot_ms=0)


def test_gas_is_read_at_the_same_commitment() -> None:
    async def body(sim: SolanaSimHandle, c: SimClient) -> None:
        user = funded_user(sim)
        owner = str(user.pubkey())
        rpc = RpcPool([sim.rpc_url("a")], client=c.http)
        gas = (await reconcile.balances(rpc, owner, ASSETS, "confirmed"))[reconcile.GAS].total
        _, tx = await c.signed_swap("jupiter", user, USDC, SOL, 10**9, "ExactOut")
        await c.send(tx)
        await sim.advance(1)
        still = (await reconcile.balances(rpc, owner, ASSETS, "confirmed"))[reconcile.GAS].total
        assert still == gas
        await sim.advance(1)
        paid = (await reconcile.balances(rpc, owner, ASSETS, "confirmed"))[reconcile.GAS].total
        assert paid < gas

    with_solana_sim(body, slot_ms=0)

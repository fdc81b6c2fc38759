"""The Solana stand-in's ``bad_candles``: a quote answer's price spoiled, nothing else."""

from __future__ import annotations

from decimal import Decimal

import pytest

from rampart_testkit.solana_sim import SolanaSimHandle
from rampart_testkit.solana_sim.faults import QUOTE_VARIANTS, FaultSet

from .sim_helpers import SOL, USDC, SimClient, funded_user, with_solana_sim


def test_each_variant_spoils_one_quote_answer_and_the_swap_still_settles_true() -> None:
    async def body(sim: SolanaSimHandle, c: SimClient) -> None:
        true = await c.quote("jupiter", USDC, SOL, 10**6)
        for variant, factor in QUOTE_VARIANTS.items():
            sim.add_fault("bad_candles", node="jupiter", variant=variant)
            bad = await c.quote("jupiter", USDC, SOL, 10**6)
            assert int(bad["outAmount"]) == int(Decimal(true["outAmount"]) * factor), variant
            assert bad["otherAmountThreshold"] == true["otherAmountThreshold"]
            assert bad["inAmount"] == true["inAmount"]
            assert await c.quote("jupiter", USDC, SOL, 10**6) == true  # one answer only
        spoiled = sim.context.faults.corrupted
        assert [q.variant for q in spoiled] == list(QUOTE_VARIANTS)
        assert {q.true_out for q in spoiled} == {int(true["outAmount"])}
        # bags.fm quotes are not touched by a fault aimed at Jupiter, and the reverse
        sim.add_fault("bad_candles", node="bags", variant="x1000")
        await c.quote("jupiter", USDC, SOL, 10**6)
        assert len(sim.context.faults.corrupted) == 4
        bags = await c.quote("bags", USDC, SOL, 10**6)
        assert sim.context.faults.corrupted[-1].route == "bags"
        assert int(bags["outAmount"]) == sim.context.faults.corrupted[-1].served_out
        # A swap built from a spoiled quote settles on the pool's true price.
        user = funded_user(sim)
        sim.add_fault("bad_candles", node="jupiter", variant="x1000")
        _, tx = await c.signed_swap("jupiter", user, USDC, SOL, 10**6)
        signature = (await c.send(tx))["result"]
        await sim.advance(2)
        assert (await c.status(signature))["err"] is None
        got = sim.balance(str(user.pubkey()), SOL) - 10**10  # funded_user holds 10 SOL
        assert abs(got - int(true["outAmount"])) <= int(true["outAmount"]) // 100 + 20_000

    with_solana_sim(body)


def test_a_random_variant_is_seeded_and_a_bad_one_refused() -> None:
    def drawn(seed: int) -> list[str]:
        faults = FaultSet(seed)
        faults.add("bad_candles", count=30)
        for _ in range(30):
            faults.spoil_quote("jupiter", {"outAmount": "1000000"})
        return [q.variant for q in faults.corrupted]

    assert drawn(1) == drawn(1) != drawn(2) and len(set(drawn(1))) == len(QUOTE_VARIANTS)
    with pytest.raises(ValueError, match="variant"):
        FaultSet().add("bad_candles", variant="gap")

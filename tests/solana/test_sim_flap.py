"""The Solana stand-in's ``flap``: a node or route failing on and off, in turn, until cleared."""

from __future__ import annotations

import pytest

from rampart_testkit.solana_sim import SolanaSimHandle
from rampart_testkit.solana_sim.faults import FaultSet

from .sim_helpers import SOL, USDC, SimClient, with_solana_sim


def test_a_flapping_node_and_route_fail_n_then_serve_m_in_turn() -> None:
    async def body(sim: SolanaSimHandle, c: SimClient) -> None:
        sim.add_fault("flap", node="a", flap_on=2, flap_off=3)
        codes = [(await c.rpc_raw("getSlot", [])).status_code for _ in range(10)]
        assert codes == [503, 503, 200, 200, 200] * 2
        assert (await c.rpc_raw("getSlot", [], node="b")).status_code == 200  # a's alone
        sim.clear_faults()
        assert (await c.rpc_raw("getSlot", [])).status_code == 200
        # A route flaps the same way: its quote answers 503 as Jupiter's own error.
        sim.add_fault("flap", node="jupiter", flap_on=1, flap_off=1)
        params = {"inputMint": USDC, "outputMint": SOL, "amount": "1000000"}
        got = []
        for _ in range(4):
            r = await c.http.get(sim.jupiter_url + "/quote", params=params, headers=c.jupiter_key)
            got.append((r.status_code, r.json().get("errorCode")))
        assert got == [(503, "INTERNAL"), (200, None)] * 2
        assert sim.context.faults.state()[0]["fired"] == 2  # failed requests only

    with_solana_sim(body)


def test_a_flap_lasts_until_cleared_or_counted_out_and_refuses_a_bad_spell() -> None:
    faults = FaultSet()
    lasting = faults.add("flap", flap_on=1, flap_off=0)
    assert all(faults.take(("flap",), "bags") is lasting for _ in range(50))
    faults.clear()
    faults.add("flap", count=2, flap_on=1, flap_off=1)
    fired = [faults.take(("flap",), "a") is not None for _ in range(6)]
    assert fired == [True, False, True, False, False, False]
    with pytest.raises(ValueError, match="flap_on"):
        faults.add("flap", flap_on=0)

"""A local Solana stand-in: JSON-RPC nodes, Jupiter and bags.fm swap APIs over one simulated
chain of constant-product pools, with faults switchable at run time."""

from rampart_testkit.solana_sim.chain import Chain
from rampart_testkit.solana_sim.faults import KINDS as FAULT_KINDS
from rampart_testkit.solana_sim.faults import FaultSet
from rampart_testkit.solana_sim.runner import (
    SolanaSimHandle,
    build_chain,
    serve,
    start_solana_sim,
)

__all__ = [
    "FAULT_KINDS",
    "Chain",
    "FaultSet",
    "SolanaSimHandle",
    "build_chain",
    "serve",
    "start_solana_sim",
]

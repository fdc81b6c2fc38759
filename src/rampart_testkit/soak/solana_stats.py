"""What the Solana soak reports (:class:`SolanaStats`): the accelerated soak's figures, and the
swaps, transfers, node outages and fail-overs of a run on the simulated chain."""

from __future__ import annotations

from dataclasses import dataclass, field

from rampart_testkit.soak import solana_verify as verify
from rampart_testkit.soak.stats import Latency, SoakStats


@dataclass
class SolanaStats(SoakStats):
    swaps: verify.SwapAccounting = field(default_factory=verify.SwapAccounting)
    monitor: verify.MonitorCheck = field(default_factory=verify.MonitorCheck)
    swap_outcomes: dict[str, int] = field(default_factory=dict)
    rpc_failures: dict[str, int] = field(default_factory=dict)
    confirm_latency: Latency = field(default_factory=Latency)
    crashes_after_send: int = 0
    transfers: int = 0
    transfers_external: int = 0
    transfer_failures: list[str] = field(default_factory=list)
    node_outages: int = 0
    failed_over: int = 0
    failed_back: int = 0
    failover_failures: list[str] = field(default_factory=list)
    harvested: int = 0
    slots: int = 0

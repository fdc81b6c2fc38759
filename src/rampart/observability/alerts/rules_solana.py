"""The Solana venue's alerts: its RPC pool, how fast swaps confirm and the share of swaps the
preferred route takes. Without a Solana venue their series do not exist and they never fire."""

from __future__ import annotations

from rampart.observability.alerts.rule import AlertRule
from rampart.observability.alerts.signals import (
    GaugeSignal,
    IncreaseSignal,
    QuantileSignal,
    RatioSignal,
)

SWAPS = "rampart_solana_swaps_total"
CONFIRMATION = "rampart_solana_confirmation_seconds"


def solana_rules(
    route_share: tuple[str, float] | None, confirm_p95_s: float = 0.5
) -> list[AlertRule]:
    """RpcDown (P1), RpcFailovers, SwapConfirmationSlow and BagsShareLow (P2); ``route_share``
    as :func:`~rampart.observability.alerts.rules.default_rules` takes it, ``confirm_p95_s``
    the p95 confirmation time past which swaps confirm too slowly
    (``alerts.levels.swap_confirmation_p95_ms``)."""
    # Off without a route and a share (the route's name is the Solana venue's to give).
    share_route, share = route_share if route_share is not None else ("", 0.8)
    return [
        AlertRule(
            "RpcDown",
            "P1",
            "Every Solana RPC node is down or lagging: no swap can be sent or confirmed.",
            # All nodes, not the primary alone: the pool fails over to a backup and swaps go
            # on; a primary that keeps failing shows as RpcFailovers (P2). Without a Solana
            # venue there is no series and no alert.
            GaugeSignal("rampart_solana_rpc_up", agg="max"),
            "<",
            1,
            120,
        ),
        # P2: within 4 hours.
        AlertRule(
            "RpcFailovers",
            "P2",
            "The Solana RPC pool changed nodes at least {threshold} times in {window}.",
            IncreaseSignal("rampart_solana_rpc_failovers_total", 900),
            ">=",
            3,
            0,
        ),
        AlertRule(
            "SwapConfirmationSlow",
            "P2",
            "Solana swaps took more than {threshold} from sending to confirmation (p95 over "
            "{window}).",
            # Plan 001's "<500ms transaction confirmation (p95)", over the swaps that landed.
            QuantileSignal(CONFIRMATION, 0.95, 900, 20),
            ">",
            confirm_p95_s,
            300,
            unit="s",
            step=0.1,
        ),
        AlertRule(
            "BagsShareLow",
            "P2",
            "bags.fm took less than {threshold} of the filled Solana swaps in {window}.",
            # Plan 001 wants most trades through bags.fm; preferred up to a cost cap: watched.
            RatioSignal(
                SWAPS,
                SWAPS,
                86_400,
                20,
                num_match={"route": share_route, "outcome": "filled"},
                den_match={"outcome": "filled"},
            ),
            "<",
            share,
            600,
            unit="ratio",
            step=0.01,
            enabled=route_share is not None,
        ),
    ]

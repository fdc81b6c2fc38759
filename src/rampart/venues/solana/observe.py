"""What the Solana venue tells its observer: quotes, swaps, slippage and the RPC pool's calls,
failovers and endpoint health. The Prometheus observer lives in ``rampart.observability``."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

SWAP_OUTCOMES = ("filled", "slippage", "expired", "dropped", "refused", "unknown")
RPC_OUTCOMES = ("ok", "timeout", "http_429", "http_5xx", "rpc_error", "down")


@runtime_checkable
class SwapObserver(Protocol):
    def quote(self, route: str, seconds: float, ok: bool) -> None:
        """One quote request to a route (``bags``/``jupiter``) and whether it gave a quote."""

    def swap(self, route: str, outcome: str, seconds: float) -> None:
        """One swap attempt ended; ``outcome`` is one of :data:`SWAP_OUTCOMES`, ``seconds``
        runs from sendTransaction to the outcome."""

    def slippage(self, route: str, quoted_bps: float, realised_bps: float) -> None:
        """A filled swap: the slippage allowed and the one realised against the quote (bps,
        positive = worse than quoted)."""

    def route_taken(self, route: str, best: str, cost: float, quote: str) -> None:
        """A filled swap took ``route`` where ``best`` had the best price; ``cost``: the
        ``quote`` tokens an operator's route preference gave up (0 when the best was taken)."""

    def rpc_call(self, endpoint: str, method: str, outcome: str, seconds: float) -> None:
        """One JSON-RPC call; ``outcome`` is one of :data:`RPC_OUTCOMES`."""

    def failover(self, from_endpoint: str, to_endpoint: str, reason: str) -> None:
        """The pool moved its current endpoint (a fail-over or a fail-back to the primary)."""

    def endpoint_health(self, endpoint: str, up: bool, lag_slots: int) -> None:
        """What the last probe (or call) found about one endpoint."""


class NullObserver:
    """Observes nothing (tests, tools)."""

    def quote(self, route: str, seconds: float, ok: bool) -> None:
        pass

    def swap(self, route: str, outcome: str, seconds: float) -> None:
        pass

    def slippage(self, route: str, quoted_bps: float, realised_bps: float) -> None:
        pass

    def route_taken(self, route: str, best: str, cost: float, quote: str) -> None:
        pass

    def rpc_call(self, endpoint: str, method: str, outcome: str, seconds: float) -> None:
        pass

    def failover(self, from_endpoint: str, to_endpoint: str, reason: str) -> None:
        pass

    def endpoint_health(self, endpoint: str, up: bool, lag_slots: int) -> None:
        pass


__all__ = ["RPC_OUTCOMES", "SWAP_OUTCOMES", "NullObserver", "SwapObserver"]

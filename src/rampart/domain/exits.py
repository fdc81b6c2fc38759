"""Who or what closed a trade, in one word: the same word in the API's trades, the bot's notices
and reports. Moved here from ``operator.profit`` so that the notices (below the operator in
the layers, docs/authors/architecture.md) can use it too."""

from __future__ import annotations

FLATTEN_PREFIXES = ("kill switch: ", "paused: ")
"""How the engine words an exit it makes when the kill switch or a pause flattens positions
(trading.controls)."""
GUARD_REASONS = frozenset({"position monitor", "closing the rest of the position"})

CAUSES = {
    "take_profit": "take-profit",
    "stop_loss": "stop-loss",
    "external": "external",
}


def exit_cause(exit_reason: str, exit_order_reason: str | None) -> str:
    """Who or what closed a trade, in one word: take-profit, stop-loss, agent, investor,
    flatten (the operator's kill switch or pause), guard (the engine's own position monitor),
    external (done outside Rampart), or ``exit`` when the closing order is not known."""
    cause = CAUSES.get(exit_reason)
    if cause is not None:
        return cause
    if exit_reason != "exit" or exit_order_reason is None:
        return exit_reason
    if exit_order_reason == "investor":
        return "investor"
    if exit_order_reason.startswith(FLATTEN_PREFIXES):
        return "flatten"
    if exit_order_reason in GUARD_REASONS:
        return "guard"
    return "agent"

"""Intents that change an open position: its stop and target moved, a trailing
stop, part of it sold, more of it bought. Each helper returns a list (empty when there is
nothing to do) so an agent's ``decide`` can return it as is, or add it to its other intents.

The engine checks each through the risk engine like any intent: a stop may always tighten,
loosen only within the profile; a reduction or an addition keeps the position's bracket,
re-sized to what is held.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from rampart.agents.base import AgentView
from rampart.domain.intents import Intent, IntentAction
from rampart.domain.money import ONE, ZERO, dec, floor_to_step
from rampart.domain.orders import Side


def _held(view: AgentView) -> bool:
    return view.position is not None and view.position.qty > ZERO


def _change(
    view: AgentView, agent: str, side: Side, action: IntentAction, reason: str, **fields: Any
) -> list[Intent]:
    """One intent on the view's position, at the close."""
    return [
        Intent(
            account_id=view.account_id,
            symbol=view.symbol,
            side=side,
            action=action,
            entry_price=dec(view.candle.close),
            rationale=reason,
            agent=agent,
            ts=view.ts,
            **fields,
        )
    ]


def move_stop(
    view: AgentView,
    agent: str,
    *,
    stop: Decimal = ZERO,
    take_profit: Decimal = ZERO,
    reason: str = "",
) -> list[Intent]:
    """Move the position's stop-loss to ``stop`` and/or its take-profit to ``take_profit``
    (ZERO leaves one where it is); [] when flat or nothing would change."""
    pos = view.position
    if pos is None or not _held(view):
        return []
    if (stop == ZERO or stop == pos.stop_loss) and (
        take_profit == ZERO or take_profit == pos.take_profit
    ):
        return []
    why = reason or "moving the bracket"
    return _change(
        view, agent, Side.SELL, IntentAction.MOVE, why, stop_loss=stop, take_profit=take_profit
    )


def trail_stop(
    view: AgentView,
    agent: str,
    *,
    distance: Decimal | None = None,
    fraction: Decimal | None = None,
    reason: str = "",
) -> list[Intent]:
    """A trailing stop: the stop raised to ``distance`` (a price difference) or ``fraction``
    (0.02 = 2 %) below the close, on the tick; never lowered (nothing when the trailed stop
    is not above the stop now)."""
    if (distance is None) == (fraction is None):
        raise ValueError("trail_stop takes one of distance or fraction")
    pos = view.position
    if pos is None or not _held(view):
        return []
    close = dec(view.candle.close)
    gap = distance if distance is not None else close * (fraction or ZERO)
    if not gap.is_finite() or gap <= ZERO:
        raise ValueError(f"a trailing distance must be above 0, not {gap}")
    trailed = floor_to_step(close - gap, view.instrument.tick_size)
    if trailed <= pos.stop_loss or trailed >= close:
        return []
    why = reason or f"trailing the stop {gap:f} below the close"
    return move_stop(view, agent, stop=trailed, reason=why)


def reduce_position(
    view: AgentView, agent: str, fraction: Decimal, reason: str = ""
) -> list[Intent]:
    """Sell ``fraction`` (0–1] of the position at market; the bracket keeps the rest."""
    if not _held(view):
        return []
    why = reason or "taking part of the position off"
    return _change(view, agent, Side.SELL, IntentAction.REDUCE, why, size_hint=min(fraction, ONE))


def add_to_position(
    view: AgentView, agent: str, size_hint: Decimal = ONE, reason: str = ""
) -> list[Intent]:
    """Buy more of the position at market, sized by the risk engine (``size_hint`` of the
    largest it allows with what is already held); the position's bracket covers the whole."""
    if not _held(view):
        return []
    why = reason or "adding to the position"
    return _change(view, agent, Side.BUY, IntentAction.ADD, why, size_hint=min(size_hint, ONE))

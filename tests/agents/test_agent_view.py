"""The engine builds its per-candle views with ``agent_view``: the same object AgentView's own
constructor makes, still frozen."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

import pytest

from rampart.agents.base import AgentConstraints, AgentView, agent_view
from rampart.domain.candles import Candle
from rampart.domain.instruments import Instrument


def _args() -> tuple[object, ...]:
    candle = Candle("BTC/USDT", 1_700_000_000_000, 1.0, 2.0, 0.5, 1.5, 10.0)
    return (
        "acct-1",
        "BTC/USDT",
        candle,
        [candle],
        Instrument.for_price("BTC/USDT", 1.5),
        Decimal("1000.5"),
        Decimal("900.25"),
        None,
        AgentConstraints(Decimal("0.01"), Decimal("0.05"), Decimal("1.5")),
        1_700_000_060_000,
    )


def test_agent_view_sets_every_field_as_the_constructor_does() -> None:
    args = _args()
    fast, slow = agent_view(*args), AgentView(*args)  # type: ignore[arg-type]
    assert type(fast) is AgentView
    for field in dataclasses.fields(AgentView):
        assert getattr(fast, field.name) is getattr(slow, field.name), field.name
    assert fast == slow


def test_agent_view_is_still_frozen() -> None:
    view = agent_view(*_args())  # type: ignore[arg-type]
    with pytest.raises(dataclasses.FrozenInstanceError):
        view.equity = Decimal(0)  # type: ignore[misc]

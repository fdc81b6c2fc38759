"""The bot's position line says what protects the position: the exchange, Rampart's monitor
and why, or UNPROTECTED since when; a stop price resting nowhere is never shown bare."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from rampart.operator.view_types import PositionView
from rampart.telegram.portfolio_view import position_line

D = Decimal
HELD = PositionView(
    symbol="BTC/USDT",
    qty=D("0.5"),
    avg_price=D(100),
    mark=D(101),
    market_value=D("50.5"),
    unrealized_pnl=D("0.5"),
    stop_loss=D(98),
    take_profit=D(105),
    opened_at=0,
    strategy="s",
    resting_stop=D(98),
)


def test_a_resting_stop_is_said_to_be_the_exchanges() -> None:
    assert "(protected by the exchange) · target" in position_line(HELD, "USDT")


def test_the_monitor_says_why() -> None:
    why = "protected by Rampart's monitor (the exchange refused the stop: MIN_NOTIONAL)"
    line = position_line(
        replace(HELD, protection="monitor", protection_text=why, resting_stop=None), "USDT"
    )
    assert "(protected by Rampart&#x27;s monitor (the exchange refused the stop" in line


def test_unprotected_is_loud_and_says_no_stop_rests() -> None:
    text = "UNPROTECTED (since 2026-11-29 04:00:00 UTC)"
    line = position_line(
        replace(HELD, protection="unprotected", protection_text=text, resting_stop=None), "USDT"
    )
    assert f"<b>{text}</b>: no stop rests at this price" in line

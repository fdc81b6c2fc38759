"""Builders for risk tests: a context where every check passes, and intents to vary."""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from typing import Any

from rampart.domain.accounts import TradingState
from rampart.domain.instruments import Instrument
from rampart.domain.intents import Intent, IntentAction
from rampart.domain.orders import Side
from rampart.domain.stages import OPEN_STAGE
from rampart.risk.checks import RiskContext
from rampart.risk.profiles import get_profile

D = Decimal
SYMBOL = "BTC/USDT"
BTC = Instrument(SYMBOL, "BTC", "USDT", D("0.01"), D("0.00001"), D("0.00001"), D("5"))
NOW = 1_700_000_000_000
"""2023-11-14 22:13:20 UTC."""


def make_ctx(**changes: Any) -> RiskContext:
    """A moderate account with 10,000 USDT, fresh data and nothing open: everything passes."""
    base = RiskContext(
        account_id="a1",
        owner="alice",
        profile_name="moderate",
        profile=get_profile("moderate"),
        stage=OPEN_STAGE,
        instrument=BTC,
        state=TradingState.ACTIVE,
        paused=False,
        global_kill=False,
        cooldown_until_ms=0,
        equity=D("10000"),
        free_cash=D("10000"),
        capital=D("10000"),
        open_positions=0,
        position_qty=D("0"),
        working_qty=D("0"),
        working_value=D("0"),
        last_price=D("100"),
        data_ts=NOW - 60_000,
        now_ms=NOW,
        recent_order_ts=(),
        taker_fee=D("0.001"),
    )
    if "profile_name" in changes and "profile" not in changes:
        changes["profile"] = get_profile(changes["profile_name"])
    return dataclasses.replace(base, **changes)


def buy(entry: str = "100", stop: str = "98", take: str = "105", **changes: Any) -> Intent:
    """A moderate-compliant long: 2 % stop, reward:risk 2.5."""
    intent = Intent(
        account_id="a1",
        symbol=SYMBOL,
        side=Side.BUY,
        action=IntentAction.OPEN,
        entry_price=D(entry),
        stop_loss=D(stop),
        take_profit=D(take),
        agent="test",
        ts=NOW,
    )
    return dataclasses.replace(intent, **changes)


def close(**changes: Any) -> Intent:
    intent = Intent(
        account_id="a1",
        symbol=SYMBOL,
        side=Side.SELL,
        action=IntentAction.CLOSE,
        entry_price=D("100"),
        agent="test",
        ts=NOW,
    )
    return dataclasses.replace(intent, **changes)

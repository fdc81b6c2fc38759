"""What shaped a run's numbers (rampart.trading.shaping): breakers tripped, halts and refused
entries by reason and count, each with its candle time; and a replay that says them in its
printed summary and summary.json, where it used to say only "trades 0"."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from pathlib import Path

from typer.testing import CliRunner

from rampart.cli.main import app
from rampart.domain.accounts import TradingState
from rampart.domain.events import (
    AccountStateChanged,
    BreakerTripped,
    IntentProposed,
    IntentRejected,
)
from rampart.domain.intents import Intent, IntentAction
from rampart.domain.orders import Side
from rampart.trading.shaping import RunShaping

DAY = 86_400_000
T0 = 1_704_067_200_000  # 2024-01-01 00:00 UTC


def _refused(ts: int, code: str, message: str = "said why") -> IntentRejected:
    intent = Intent("a", "BTC/USDT", Side.BUY, IntentAction.OPEN, Decimal(100), ts=ts)
    return IntentRejected(ts, intent, code, message)


def test_refusals_are_counted_by_reason_with_the_first_ones_time_and_words() -> None:
    shaping = RunShaping()
    shaping(_refused(T0 + 60_000, "below_min_notional", "below the exchange's minimum"))
    shaping(_refused(T0 + 120_000, "below_min_notional", "a later one"))
    shaping(_refused(T0 + DAY, "stop_too_wide", "the stop is 10 % below"))
    assert shaping.refused_total == 3
    assert shaping.sentences() == [
        "2 entries refused for below_min_notional, the first at 2024-01-01 00:01: "
        "below the exchange's minimum",
        "1 entry refused for stop_too_wide, the first at 2024-01-02 00:00: the stop is 10 % below",
    ]
    assert shaping.line() == "2 refused below_min_notional; 1 refused stop_too_wide"


def test_breakers_and_halts_are_told_with_their_candle_time_in_time_order() -> None:
    shaping = RunShaping()
    shaping(_refused(T0 + 3 * DAY, "account_halted", "the account is halted"))
    fell = "fell 10 % below its peak"
    shaping(BreakerTripped(T0 + DAY, "a", "max_drawdown", fell))
    shaping(
        AccountStateChanged(
            T0 + DAY, "a", TradingState.ACTIVE, TradingState.HALTED, fell, "max_drawdown"
        )
    )
    # A trip whose account change says something else is told on its own line.
    shaping(BreakerTripped(T0 + 2 * DAY, "a", "cooldown", "3 losing trades"))
    reducing = AccountStateChanged(
        T0 + 2 * DAY, "a", TradingState.HALTED, TradingState.REDUCING, "cooling", "cooldown"
    )
    shaping(reducing)
    # Back to active, and an intent that went through, shape nothing.
    shaping(AccountStateChanged(T0 + 2 * DAY, "a", TradingState.REDUCING, TradingState.ACTIVE, ""))
    intent = Intent("a", "BTC/USDT", Side.BUY, IntentAction.OPEN, Decimal(100), ts=T0)
    shaping(IntentProposed(T0, intent))
    assert shaping.sentences() == [
        "2024-01-02 00:00: the max_drawdown breaker tripped and the account was halted: "
        "fell 10 % below its peak",
        "2024-01-03 00:00: the account was only reducing from then: cooling",
        "2024-01-03 00:00: the cooldown breaker tripped: 3 losing trades",
        "1 entry refused for account_halted, the first at 2024-01-04 00:00: the account is halted",
    ]
    assert shaping.line() == (
        "halted 2024-01-02 00:00 (max_drawdown); reducing 2024-01-03 00:00 (cooldown); "
        "1 refused account_halted"
    )


def test_nothing_but_trades_shapes_nothing() -> None:
    shaping = RunShaping()
    assert shaping.sentences() == [] and shaping.line() == "" and shaping.refused_total == 0


def test_a_replay_whose_entries_are_all_refused_says_why_not_only_trades_0(
    shared_data: Path, tmp_path: Path
) -> None:
    # 5 USDT of capital: every entry the agent wants is below the exchange's minimum order.
    out = tmp_path / "tiny"
    data = shared_data / "XRP_USDT-5m.feather"
    done = CliRunner().invoke(
        app,
        ["replay", "--data", str(data), "--capital", "5", "--out", str(out), "--no-chart"],
    )
    assert done.exit_code == 0, done.output
    said = " ".join(done.output.split())
    assert "What shaped these figures besides the agent's trades:" in said, said
    counted = re.findall(r"([\d,]+) entr(?:y|ies) refused for (\w+), the first at ", said)
    assert counted, said
    written = json.loads((out / "summary.json").read_text())
    assert written["trades"] == 0
    assert len(written["shaped_by"]) == len(counted)
    total = sum(int(n.replace(",", "")) for n, _ in counted)
    assert total > 0


def test_a_halt_without_words_says_so_and_ties_keep_the_order_they_came_in() -> None:
    shaping = RunShaping()
    # A halt and a refusal at the same candle: told in the order they happened, not by text.
    shaping(AccountStateChanged(T0, "a", TradingState.ACTIVE, TradingState.HALTED, "", ""))
    shaping(_refused(T0, "account_halted", "the account is halted"))
    assert shaping.sentences() == [
        "2024-01-01 00:00: the account was halted from then: no reason given",
        "1 entry refused for account_halted, the first at 2024-01-01 00:00: the account is halted",
    ]


def test_the_trial_tables_line_names_the_most_refused_reason_first() -> None:
    shaping = RunShaping()
    shaping(_refused(T0, "a_rare_reason"))
    for i in range(3):
        shaping(_refused(T0 + i, "z_common_reason"))
    assert shaping.line() == "3 refused z_common_reason; 1 refused a_rare_reason"

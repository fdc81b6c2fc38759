"""Every agent on every real candle file: signals where a batch computation finds them, and
intents the risk engine can accept for each default profile."""

from __future__ import annotations

import math
from decimal import Decimal
from functools import cache
from pathlib import Path

import numpy as np
import pytest

from rampart.agents.base import AgentConstraints
from rampart.agents.registry import AGENT_NAMES, make_agent
from rampart.domain.instruments import Instrument
from rampart.domain.intents import Intent, IntentAction
from rampart.domain.money import ZERO, dec
from rampart.domain.orders import Side

from . import batch
from .realdata import CANDLE_FILES, DATA_DIR, PROFILES, Series, SimAccount, holding, load, run

MODERATE = PROFILES["moderate"]


@cache
def outcome(agent_name: str, file: str) -> dict[str, SimAccount]:
    """One agent instance serving five accounts at once, as the engine shares it."""
    series = load(DATA_DIR, file)
    accounts = [SimAccount(name, c) for name, c in PROFILES.items()]
    accounts.append(SimAccount("always-flat", MODERATE, sticky=True))
    accounts.append(SimAccount("always-holding", MODERATE, holding(series.symbol), sticky=True))
    run(make_agent(agent_name), series, accounts)
    return {a.account_id: a for a in accounts}


def bars(acct: SimAccount, action: IntentAction) -> set[int]:
    return {i for i, _, intent in acct.intents if intent.action is action}


def assert_valid_open(intent: Intent, c: AgentConstraints, instrument: Instrument) -> None:
    entry, stop, tp = intent.entry_price, intent.stop_loss, intent.take_profit
    assert intent.side is Side.BUY
    assert ZERO < stop < entry < tp
    assert c.min_stop * entry <= entry - stop <= c.max_stop * entry
    assert intent.reward_risk >= c.min_rr
    assert instrument.price_on_tick(stop) and instrument.price_on_tick(tp)
    assert f"{((entry - stop) / entry * 100).quantize(Decimal('0.1'))} %" in intent.rationale


needs_data = pytest.mark.usefixtures("shared_data")
cases = pytest.mark.parametrize(
    ("agent_name", "file"), [(a, f) for a in AGENT_NAMES for f in CANDLE_FILES]
)


@needs_data
@cases
def test_signals_are_where_a_batch_computation_puts_them(agent_name: str, file: str) -> None:
    accounts = outcome(agent_name, file)
    expected = batch.ORACLES[agent_name](load(DATA_DIR, file))
    warmup = make_agent(agent_name).warmup
    flat, held = accounts["always-flat"], accounts["always-holding"]
    entries = {i for i in expected.entries if i + 1 >= warmup}
    exits = {i for i in expected.exits if i + 1 >= warmup}
    assert bars(flat, IntentAction.OPEN) ^ entries <= expected.unclear
    assert bars(held, IntentAction.CLOSE) ^ exits <= expected.unclear
    # Spot: an account with a position is never told to buy more, a flat one never to sell.
    assert not bars(flat, IntentAction.CLOSE) and not bars(held, IntentAction.OPEN)
    assert len(expected.unclear & (entries | exits)) <= 2


@needs_data
@cases
def test_intents_pass_the_bracket_rules_of_every_profile(agent_name: str, file: str) -> None:
    series = load(DATA_DIR, file)
    instrument = series.instrument
    warmup = make_agent(agent_name).warmup
    for name, constraints in PROFILES.items():
        acct = outcome(agent_name, file)[name]
        for index, held, intent in acct.intents:
            candle = series.candles[index]
            assert index + 1 >= warmup
            assert intent.account_id == name and intent.symbol == series.symbol
            assert intent.agent == agent_name and intent.ts == candle.close_ts
            assert intent.entry_price == dec(candle.close)
            assert 0.0 <= intent.confidence <= 1.0 and ZERO < intent.size_hint <= 1
            assert intent.rationale.endswith(".") and "e-0" not in intent.rationale
            if intent.action is IntentAction.OPEN:
                assert not held
                assert_valid_open(intent, constraints, instrument)
            else:
                assert held and intent.side is Side.SELL


@needs_data
@cases
def test_every_agent_trades_every_file(agent_name: str, file: str) -> None:
    accounts = outcome(agent_name, file)
    opened = [a for a in PROFILES if bars(accounts[a], IntentAction.OPEN)]
    if opened:
        assert opened == list(PROFILES)
        return
    # Mean reversion needs RSI(14) under 30; on XRP/ETH 5m (2.5 calm days) it never gets
    # there, so staying out is right. Prove that, and that a looser threshold trades it.
    assert agent_name == "mean_reversion"
    series = load(DATA_DIR, file)
    lowest = float(np.nanmin(batch.rsi(series.close, 14)))
    assert lowest >= 30.0
    acct = SimAccount("loose", MODERATE)
    run(make_agent(agent_name, {"oversold": math.ceil(lowest) + 3}), series, [acct])
    assert bars(acct, IntentAction.OPEN)


@needs_data
@pytest.mark.parametrize("agent_name", AGENT_NAMES)
def test_positions_are_closed_by_the_agent_somewhere(agent_name: str) -> None:
    closes = sum(
        len(bars(outcome(agent_name, f)[p], IntentAction.CLOSE))
        for f in CANDLE_FILES
        for p in PROFILES
    )
    assert closes > 0


@pytest.fixture
def nxt(shared_data: Path) -> Series:
    if "NXT_BTC-5m.feather" not in CANDLE_FILES:
        pytest.skip("NXT_BTC-5m.feather is not in the shared data")
    return load(shared_data, "NXT_BTC-5m.feather")


@pytest.mark.parametrize("agent_name", AGENT_NAMES)
def test_tiny_prices_keep_fine_brackets(nxt: Series, agent_name: str) -> None:
    instrument = nxt.instrument
    assert instrument.tick_size == Decimal("1E-9")
    opens = [
        intent
        for _, _, intent in outcome(agent_name, "NXT_BTC-5m.feather")["conservative"].intents
        if intent.action is IntentAction.OPEN
    ]
    assert opens
    for intent in opens:
        assert intent.entry_price < Decimal("0.0001")
        # A 1 % stop on a 3e-5 price is ~300 ticks: far from rounding to the entry.
        assert (intent.entry_price - intent.stop_loss) / instrument.tick_size >= 100
        assert "0.0000" in intent.rationale


@pytest.mark.parametrize("agent_name", AGENT_NAMES)
def test_a_coarse_tick_skips_entries_it_cannot_bracket(nxt: Series, agent_name: str) -> None:
    # A 1e-6 tick on a ~3e-5 price is a ~3 % step: a stop 1–3 % below the entry exists only
    # when a tick happens to fall in that band. The agent proposes those and skips the rest.
    coarse = Instrument("NXT/BTC", "NXT", "BTC", Decimal("1E-6"), Decimal(1), Decimal(1), ZERO)
    limits = PROFILES["conservative"]
    flat = SimAccount("flat", limits, sticky=True)
    held = SimAccount("held", limits, holding("NXT/BTC"), sticky=True)
    run(make_agent(agent_name), nxt, [flat, held], instrument=coarse)
    fine = outcome(agent_name, "NXT_BTC-5m.feather")
    assert bars(flat, IntentAction.OPEN) < bars(fine["always-flat"], IntentAction.OPEN)
    for _, _, intent in flat.intents:
        assert_valid_open(intent, limits, coarse)
    # Exits need no bracket, so the coarse tick changes none of them.
    assert bars(held, IntentAction.CLOSE) == bars(fine["always-holding"], IntentAction.CLOSE)

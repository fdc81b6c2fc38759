"""Each rejection code is reachable with one focused change, and its sentence is readable."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest

from rampart.domain.accounts import TradingState
from rampart.domain.instruments import Instrument
from rampart.domain.intents import Intent, IntentAction
from rampart.domain.orders import Side
from rampart.domain.stages import Stage
from rampart.risk.checks import RiskContext, RiskEngine, RiskVerdict
from rampart.risk.codes import RejectCode
from rampart.risk.sizing import size_entry

from .helpers import BTC, NOW, SYMBOL, buy, close, make_ctx

D = Decimal
ENGINE = RiskEngine()
INTERNAL = Stage(
    name="internal",
    users=frozenset({"bob", "carol"}),
    max_users=2,
    symbols=frozenset({"BTC/USDT"}),
    profiles=frozenset({"conservative"}),
    min_capital=D("100"),
    max_capital=D("500"),
)
WHOLE_LOTS = Instrument("BTC/USDT", "BTC", "USDT", D("0.01"), D("1"), D("1"), D("5"))


@dataclass
class Case:
    code: RejectCode
    intent: Intent = field(default_factory=buy)
    ctx: dict[str, Any] = field(default_factory=dict)
    says: tuple[str, ...] = ()
    """Fragments the sentence must contain: the numbers a user acts on."""


CASES = [
    Case(RejectCode.KILL_SWITCH, ctx={"global_kill": True}, says=("kill switch is on",)),
    Case(RejectCode.ACCOUNT_PAUSED, ctx={"paused": True}, says=("paused",)),
    Case(RejectCode.ACCOUNT_HALTED, ctx={"state": TradingState.HALTED}, says=("halted",)),
    Case(
        RejectCode.COOLDOWN,
        ctx={"cooldown_until_ms": NOW + 30 * 60_000, "state": TradingState.REDUCING},
        says=("3 losing trades", "30 minutes", "22:43 UTC"),
    ),
    Case(RejectCode.ACCOUNT_REDUCING, ctx={"state": TradingState.REDUCING}, says=("closing",)),
    Case(
        RejectCode.STORE_UNAVAILABLE,
        ctx={"store_down": True},
        says=("Nothing can be stored right now", "exits and protection continue"),
    ),
    Case(
        RejectCode.COMMANDS_STALE,
        ctx={"commands_stale": True},
        says=("not heard from the command stream", "kill switch", "exits and protection continue"),
    ),
    Case(RejectCode.NO_POSITION, intent=close(), says=(SYMBOL,)),
    Case(
        RejectCode.STOP_LOOSENED,
        intent=buy(stop="94", take="0", action=IntentAction.MOVE, side=Side.SELL),
        ctx={
            "position_qty": D(1),
            "position_price": D(100),
            "position_stop": D(98),
            "position_take": D(105),
        },
        says=("94 USDT", "6 %", "at most 5 %"),
    ),
    Case(RejectCode.SHORT_NOT_SUPPORTED, intent=buy(side=Side.SELL), says=("BTC", "short")),
    Case(
        RejectCode.STAGE_USER,
        ctx={"stage": INTERNAL, "profile_name": "conservative", "capital": D("300")},
        says=("'internal'", "alice"),
    ),
    Case(
        RejectCode.STAGE_SYMBOL,
        intent=buy(symbol="ETH/USDT"),
        ctx={"stage": INTERNAL, "owner": "bob"},
        says=("only BTC/USDT", "not ETH/USDT"),
    ),
    Case(
        RejectCode.STAGE_CAPITAL,
        ctx={"stage": INTERNAL, "owner": "bob"},
        says=("between 100 and 500 USDT", "10,000 USDT"),
    ),
    Case(
        RejectCode.STAGE_PROFILE,
        ctx={"stage": INTERNAL, "owner": "bob", "capital": D("300")},
        says=("only the conservative profile", "uses moderate"),
    ),
    Case(
        RejectCode.STALE_DATA,
        ctx={"data_ts": NOW - 300_000},
        says=("5 minutes old", "3 minutes allowed"),
    ),
    Case(RejectCode.BAD_PRICE, intent=buy(entry="0"), says=("entry price",)),
    Case(RejectCode.BAD_SIZE, intent=buy(size_hint=D("1.5")), says=("1.5",)),
    Case(RejectCode.NO_BRACKET, intent=buy(stop="0"), says=("no stop-loss",)),
    Case(
        RejectCode.BRACKET_SIDE,
        intent=buy(stop="101"),
        says=("stop-loss is 101 USDT", "entry 100 USDT", "take-profit 105 USDT"),
    ),
    Case(
        RejectCode.BAD_TICK,
        intent=buy(stop="98.005"),
        says=("98.005 USDT", "0.01 USDT", "98.01 USDT"),
    ),
    Case(
        RejectCode.STOP_TOO_TIGHT,
        intent=buy(stop="99.6"),
        says=(
            "The stop-loss is 0.4 % below the entry; the moderate profile needs between "
            "1 % and 5 %.",
        ),
    ),
    Case(RejectCode.STOP_TOO_WIDE, intent=buy(stop="94", take="120"), says=("6 %", "5 %")),
    Case(
        RejectCode.MIN_REWARD_RISK,
        intent=buy(take="102.3"),
        says=("1.15 times", "2.3 USDT", "2 USDT", "at least 1.2 times"),
    ),
    Case(
        RejectCode.POSITION_EXISTS,
        ctx={"position_qty": D("0.5"), "open_positions": 1},
        says=("0.5 BTC", "one position per symbol"),
    ),
    Case(
        RejectCode.ENTRY_WORKING,
        ctx={"working_qty": D("20"), "working_value": D("2000"), "open_positions": 1},
        says=("entry for 20 BTC on BTC/USDT (about 2,000 USDT)", "one position per symbol"),
    ),
    Case(RejectCode.MAX_OPEN_POSITIONS, ctx={"open_positions": 4}, says=("4 open positions",)),
    Case(
        RejectCode.BELOW_MIN_QTY,
        ctx={"instrument": WHOLE_LOTS, "equity": D("100"), "free_cash": D("100")},
        says=("at most 0.2 BTC", "smallest BTC/USDT order of 1 BTC"),
    ),
    Case(
        RejectCode.BELOW_MIN_NOTIONAL,
        ctx={"equity": D("20"), "free_cash": D("20")},
        says=("4 USDT", "minimum order of 5 USDT"),
    ),
    Case(
        RejectCode.INSUFFICIENT_FUNDS,
        ctx={"free_cash": D("3")},
        says=("Only 3 USDT is free", "5 USDT"),
    ),
    Case(
        RejectCode.ORDER_RATE,
        ctx={"recent_order_ts": tuple(NOW - 2_000 * i for i in range(20))},
        says=("20 orders in the last minute",),
    ),
]


def assert_readable(verdict: RiskVerdict) -> None:
    text = verdict.message
    assert text[0].isupper() and text.endswith("."), text
    assert "qty" not in text.lower() and "_" not in text and "None" not in text, text
    assert not re.search(r"\dE[+-]?\d", text), f"exponent notation in: {text}"


@pytest.mark.parametrize("case", CASES, ids=[c.code.value for c in CASES])
def test_each_rejection_is_reachable_and_readable(case: Case) -> None:
    assert ENGINE.check(buy(), make_ctx()).approved, "the baseline must pass every check"
    verdict = ENGINE.check(case.intent, make_ctx(**case.ctx))
    assert not verdict.approved
    assert verdict.code is case.code, verdict.message
    assert verdict.qty == 0 and verdict.risk_amount == 0
    assert_readable(verdict)
    for fragment in case.says:
        assert fragment in verdict.message, verdict.message


def test_the_cases_cover_every_code_the_default_sizer_can_produce() -> None:
    guards = {RejectCode.RISK_PER_TRADE, RejectCode.MAX_POSITION}  # see the faulty-sizer tests
    # Given by trading.investor_holds before the risk engine (tests/telegram/test_intent.py).
    held = {RejectCode.INVESTOR_HOLD, RejectCode.INVESTOR_POSITION}
    # An agent's own protections, also before it (tests/trading/test_agent_protections.py).
    held.add(RejectCode.AGENT_PROTECTION)
    # A fresh holder's bare coins, also before it (tests/trading/test_cover_first.py).
    held.add(RejectCode.COVER_FIRST)
    # Given by the agent's last look after the risk engine (tests/trading/test_agent_callbacks.py).
    looked = {RejectCode.AGENT_VETO}
    assert {c.code for c in CASES} | guards | held | looked == set(RejectCode)


def test_approved_entry_is_sized_by_the_tightest_limit() -> None:
    verdict = ENGINE.check(buy(), make_ctx())
    # moderate, 10,000 USDT: risk cap 1 % × 10,000 / 2 = 50 BTC, position cap
    # 20 % × 10,000 / 100 = 20 BTC, cash cap 10,000 / 100.1 ≈ 99.9 BTC.
    assert verdict.approved and verdict.code is None
    assert verdict.qty == D("20")
    assert verdict.risk_amount == D("40")
    assert "buy 20 BTC near 100 USDT, risking 40 USDT (0.4 % of the account)" in verdict.message


def test_risk_cap_binds_with_a_wide_stop_and_size_hint_scales_it() -> None:
    ctx = make_ctx()
    full = ENGINE.check(buy(stop="95", take="110"), ctx)
    assert full.qty == D("20") and full.risk_amount == D("100")  # both caps meet at 20
    half = ENGINE.check(buy(stop="95", take="110", size_hint=D("0.5")), ctx)
    assert half.qty == D("10") and half.risk_amount == D("50")
    tight_cash = ENGINE.check(buy(), make_ctx(free_cash=D("500")))
    assert tight_cash.qty == D("4.99500")  # 500 / 100.1, floored to the 0.00001 lot


def test_gates_run_in_order_and_the_first_failure_wins() -> None:
    everything = make_ctx(global_kill=True, paused=True, state=TradingState.HALTED)
    assert ENGINE.check(buy(), everything).code is RejectCode.KILL_SWITCH
    paused_halted = make_ctx(paused=True, state=TradingState.HALTED)
    assert ENGINE.check(buy(), paused_halted).code is RejectCode.ACCOUNT_PAUSED
    stale_and_tight = make_ctx(data_ts=NOW - 600_000)
    assert ENGINE.check(buy(stop="99.9"), stale_and_tight).code is RejectCode.STALE_DATA
    crowded = make_ctx(position_qty=D("1"), open_positions=9)
    assert ENGINE.check(buy(), crowded).code is RejectCode.POSITION_EXISTS


def test_closes_pass_reducing_and_cooldown_but_not_halts_or_switches() -> None:
    holding = {"position_qty": D("0.25"), "open_positions": 1}
    for state in (TradingState.ACTIVE, TradingState.REDUCING):
        ctx = make_ctx(state=state, cooldown_until_ms=NOW + 60_000, **holding)
        verdict = ENGINE.check(close(), ctx)
        assert verdict.approved and verdict.qty == D("0.25") and verdict.risk_amount == 0
    ctx = make_ctx(state=TradingState.REDUCING, **holding)
    crowded = make_ctx(recent_order_ts=tuple([NOW] * 50), data_ts=0, **holding)
    assert ENGINE.check(close(), crowded).approved  # stale data and order rate gate entries only
    assert ENGINE.check(buy(), ctx).code is RejectCode.ACCOUNT_REDUCING
    halted = ENGINE.check(close(), make_ctx(state=TradingState.HALTED, **holding))
    assert halted.code is RejectCode.ACCOUNT_HALTED
    assert "keeps its stop-loss and take-profit" in halted.message
    killed = ENGINE.check(close(), make_ctx(global_kill=True, **holding))
    assert killed.code is RejectCode.KILL_SWITCH and "no trading" in killed.message


def test_a_store_outage_refuses_entries_and_lets_closes_pass() -> None:
    down = make_ctx(store_down=True, position_qty=D("0.25"), open_positions=1)
    assert ENGINE.check(close(), down).approved
    assert ENGINE.check(buy(), make_ctx(store_down=True)).code is RejectCode.STORE_UNAVAILABLE


def test_a_worker_cut_off_from_commands_refuses_entries_and_lets_closes_pass() -> None:
    cut_off = make_ctx(commands_stale=True, position_qty=D("0.25"), open_positions=1)
    assert ENGINE.check(close(), cut_off).approved
    assert ENGINE.check(buy(), make_ctx(commands_stale=True)).code is RejectCode.COMMANDS_STALE
    # A kill switch or a pause says more than staleness does: theirs is the reason given.
    both = make_ctx(commands_stale=True, global_kill=True)
    assert ENGINE.check(buy(), both).code is RejectCode.KILL_SWITCH


def test_boundaries_are_inclusive_where_the_design_says_at_least_or_at_most() -> None:
    ctx = make_ctx()
    assert ENGINE.check(buy(stop="99", take="101.2"), ctx).approved  # 1 % stop, R:R 1.2
    assert ENGINE.check(buy(stop="95", take="106"), ctx).approved  # 5 % stop
    assert ENGINE.check(buy(), make_ctx(data_ts=NOW - 180_000)).approved
    assert ENGINE.check(buy(), make_ctx(data_ts=NOW - 180_001)).code is RejectCode.STALE_DATA
    assert ENGINE.check(buy(), make_ctx(cooldown_until_ms=NOW)).approved
    assert ENGINE.check(buy(), make_ctx(open_positions=3)).approved


def test_order_rate_counts_only_the_last_sixty_seconds() -> None:
    old = tuple(NOW - 60_000 - i for i in range(100))
    recent = tuple(NOW - i for i in range(19))
    assert ENGINE.check(buy(), make_ctx(recent_order_ts=old + recent)).approved
    over = make_ctx(recent_order_ts=(*old, *recent, NOW - 59_999))
    assert ENGINE.check(buy(), over).code is RejectCode.ORDER_RATE


def test_no_price_yet_is_stale() -> None:
    verdict = ENGINE.check(buy(), make_ctx(data_ts=0))
    assert verdict.code is RejectCode.STALE_DATA and "no BTC/USDT price yet" in verdict.message


def test_zero_equity_is_refused_with_the_balance() -> None:
    verdict = ENGINE.check(buy(), make_ctx(equity=D("-12.5"), free_cash=D("0")))
    assert verdict.code is RejectCode.INSUFFICIENT_FUNDS
    assert "-12.5 USDT" in verdict.message


def test_non_finite_prices_are_rejected_not_raised() -> None:
    odd = (
        buy(entry="NaN"),
        buy(stop="Infinity"),
        buy(size_hint=D("sNaN")),
        buy(entry="1E+40", take="2E+40"),
        buy(take="1E+300"),
    )
    for intent in odd:
        verdict = ENGINE.check(intent, make_ctx())
        assert verdict.code in {RejectCode.BAD_PRICE, RejectCode.BAD_SIZE}


# -- the guards after sizing catch a sizing bug ------------------------------------------------


def triple(intent: Intent, ctx: RiskContext) -> Decimal:
    return size_entry(intent, ctx) * 3


def one_and_half(intent: Intent, ctx: RiskContext) -> Decimal:
    return size_entry(intent, ctx) * D("1.5")


def off_lot(intent: Intent, ctx: RiskContext) -> Decimal:
    return size_entry(intent, ctx) / 3


def test_lot_guard_rejects_a_quantity_off_the_lot() -> None:
    verdict = RiskEngine(sizer=off_lot).check(buy(), make_ctx())
    assert verdict.code is RejectCode.BAD_SIZE and verdict.qty == 0
    assert "lot of 0.00001 BTC" in verdict.message


def test_risk_per_trade_guard_rejects_an_oversized_quantity() -> None:
    verdict = RiskEngine(sizer=triple).check(buy(stop="95", take="110"), make_ctx())
    assert verdict.code is RejectCode.RISK_PER_TRADE and verdict.qty == 0
    assert "300 USDT (3 % of the account)" in verdict.message
    assert "at most 100 USDT (1 %)" in verdict.message
    assert_readable(verdict)


def test_max_position_guard_rejects_an_oversized_quantity() -> None:
    verdict = RiskEngine(sizer=triple).check(buy(stop="99", take="103"), make_ctx())
    assert verdict.code is RejectCode.MAX_POSITION
    assert "6,000 USDT (60 % of the account)" in verdict.message
    assert "at most 2,000 USDT (20 %)" in verdict.message
    assert_readable(verdict)


def test_cash_guard_rejects_an_order_the_free_cash_cannot_pay() -> None:
    verdict = RiskEngine(sizer=one_and_half).check(
        buy(stop="99", take="103"), make_ctx(free_cash=D("500"))
    )
    assert verdict.code is RejectCode.INSUFFICIENT_FUNDS
    assert "only 500 USDT is free" in verdict.message


def test_close_ignores_the_intent_side_and_names_the_position() -> None:
    verdict = ENGINE.check(close(side=Side.BUY), make_ctx(position_qty=D("2")))
    assert verdict.approved and verdict.qty == D("2") and verdict.code is None
    assert f"{SYMBOL} position of 2 {BTC.base}" in verdict.message


def test_a_stale_feed_refuses_entries_in_words() -> None:
    assert RiskEngine().check(buy(), make_ctx()).approved
    verdict = RiskEngine().check(buy(), make_ctx(feed_stale=True))
    assert not verdict.approved
    assert verdict.code is RejectCode.STALE_DATA
    assert "stopped updating" in verdict.message

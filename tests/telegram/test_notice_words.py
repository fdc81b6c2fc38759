"""Entry and exit notices in an investor's words: an entry says why without EMA,
ATR, RSI or Bollinger; an exit shows its result in percent and the account's running total."""

from __future__ import annotations

from decimal import Decimal

import pytest

from rampart.agents.registry import AGENT_NAMES
from rampart.domain.events import TradeClosed
from rampart.domain.positions import ClosedTrade
from rampart.notices.investor_notices import InvestorNotice, NoticeMaker
from rampart.notices.plain_words import PLAIN, change, plain_reason

JARGON = ("EMA", "ATR", "RSI", "Bollinger", "R.", "×")

# What the built-in agents write (rampart/agents/*.py, then Agent.open_long's tail).
TAIL = "; stop 1.50 % below at ATR×2, target 2.00R."
RATIONALES = {
    "trend": "EMA(12) 30,114.2 crossed above EMA(26) 30,101.9" + TAIL,
    "breakout": "the close 30,500 broke above the previous 20 bars' high 30,480" + TAIL,
    "mean_reversion": "RSI(14) 24.1 is below 30 and the close 29,000 is under the lower "
    "Bollinger band(20, 2) 29,050" + TAIL,
    "ml": "model 20240101-ab12 gives 0.72 ≥ threshold 0.6" + TAIL,
}


@pytest.mark.parametrize("agent", sorted(RATIONALES))
def test_every_built_in_agents_entry_reads_without_jargon(agent: str) -> None:
    said = plain_reason(agent, RATIONALES[agent], 0.72)
    assert said and not any(word in said for word in JARGON), said


def test_every_built_in_rule_agent_has_plain_words() -> None:
    assert set(AGENT_NAMES) <= set(PLAIN) | {"ml"}, AGENT_NAMES


def test_an_unknown_agent_keeps_its_reason_less_the_brackets_tail() -> None:
    said = plain_reason("my_agent", "funding turned negative" + TAIL)
    assert said == "funding turned negative"
    assert plain_reason("my_agent", "my_agent") == ""  # the agent's name is no reason


def test_change_is_signed_in_percent() -> None:
    assert change(Decimal("98.5"), Decimal("100")) == "−1.50 %"
    assert change(Decimal("103"), Decimal("100")) == "+3.00 %"
    assert change(Decimal("100"), Decimal("100")) == "0.00 %"


def test_an_exit_says_its_result_in_percent_and_the_running_total() -> None:
    told: list[InvestorNotice] = []
    totals = {"alice": Decimal("41.25")}
    maker = NoticeMaker(told.append, lambda: ["alice"], realised=totals.get)
    trade = ClosedTrade(
        account_id="alice",
        symbol="BTC/USDT",
        strategy="trend",
        entry_client_id="rp-a-1-e",
        opened_at=0,
        closed_at=60_000,
        qty=Decimal("0.01"),
        entry_price=Decimal("30000"),
        exit_price=Decimal("30900"),
        gross_pnl=Decimal("9"),
        fees=Decimal("0.6"),
        pnl=Decimal("8.4"),
        exit_reason="take_profit",
        stop_loss=Decimal("29550"),
        take_profit=Decimal("30900"),
        risk=Decimal("4.5"),
    )
    maker(TradeClosed(60_000, trade))
    (notice,) = told
    assert "Result: +8.40 USDT (+2.80 %) after fees 0.60 USDT" in notice.text, notice.text
    assert "Your account's realised result so far: +41.25 USDT." in notice.text, notice.text


def test_a_breaker_is_named_as_every_front_names_it() -> None:
    from rampart.domain.events import BreakerTripped

    told: list[InvestorNotice] = []
    maker = NoticeMaker(told.append, lambda: ["alice"])
    maker(BreakerTripped(1, "alice", "cooldown", "3 losing trades in a row"))
    (notice,) = told
    assert "Safety breaker <b>Losing-streak cooldown</b> tripped" in notice.text, notice.text


def test_kill_and_close_reads_as_closing_not_as_stopped_closing() -> None:
    from rampart.domain.events import KillSwitchChanged

    told: list[InvestorNotice] = []
    maker = NoticeMaker(told.append, lambda: ["alice"])
    maker(KillSwitchChanged(1, "global", True, "exchange trouble", "op", flatten=True))
    maker(KillSwitchChanged(2, "global", True, "drill", "op", flatten=False))
    closing, holding = (n.text for n in told)
    # "stopped opening positions and closing every position" read as both stopped.
    assert "stopped opening positions and closing" not in closing
    assert "opens no new positions" in closing and "closing every open position now" in closing
    assert "closing" not in holding and "keep their stop-loss and take-profit" in holding

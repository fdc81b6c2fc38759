"""Cash flows are not performance: deposits, withdrawals and the investor's own trades rebase
the breakers' day start and peak (time-weighted), so only the strategy's own result trips them.
"""

from __future__ import annotations

import json
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from rampart.domain.accounts import TradingState
from rampart.risk.breakers import DAY_MS, Breakers, BreakerState
from rampart.risk.cash_flows import (
    DEPOSIT,
    HAND_BUY,
    HAND_SALE,
    WITHDRAWAL,
    CashFlow,
    kind_of,
    scale,
)
from rampart.risk.profiles import get_profile

D = Decimal
DAY0 = 19_000 * DAY_MS
HOUR = 3_600_000
MODERATE = get_profile("moderate")  # daily loss 4 %, drawdown 10 %


def fresh(equity: str = "10000") -> tuple[Breakers, BreakerState]:
    breakers = Breakers(MODERATE, currency="USDT")
    return breakers, breakers.new_state(D(equity), DAY0)


def flow(amount: str, at: int, kind: str = "") -> CashFlow:
    return CashFlow(at, D(amount), kind or kind_of(D(amount)), "USDT")


def test_a_withdrawal_of_45_6_percent_trips_nothing() -> None:
    breakers, bs = fresh()
    breakers.on_equity(bs, D("10000"), DAY0 + HOUR)
    bs.on_cash_flow(flow("-4560", DAY0 + 12 * HOUR + 3 * 60_000), D("10000"))
    assert breakers.on_equity(bs, D("5440"), DAY0 + 13 * HOUR) == []
    assert bs.state is TradingState.ACTIVE
    assert (bs.day_start_equity, bs.peak_equity) == (D("5440"), D("5440"))


def test_a_hand_buy_and_its_cash_coming_back_trip_nothing() -> None:
    breakers, bs = fresh()
    bs.on_cash_flow(flow("-836.999", DAY0 + HOUR, HAND_BUY), D("10000"))
    assert breakers.on_equity(bs, D("9163.001"), DAY0 + HOUR) == []
    bs.on_cash_flow(flow("840", DAY0 + 2 * HOUR, HAND_SALE), D("9163.001"))
    assert breakers.on_equity(bs, D("10003.001"), DAY0 + 2 * HOUR) == []
    assert bs.state is TradingState.ACTIVE


def test_a_real_strategy_loss_after_a_withdrawal_still_trips_and_says_what_it_measured() -> None:
    breakers, bs = fresh()
    bs.on_cash_flow(flow("-4560", DAY0 + 12 * HOUR + 3 * 60_000), D("10000"))
    # The strategy loses 45 % of what is left: both limits are past, measured on its own result.
    trips = breakers.on_equity(bs, D("2992"), DAY0 + 14 * HOUR)
    assert [t.breaker for t in trips] == ["daily_loss", "max_drawdown"]
    daily = trips[0].message
    assert "lost 2,448 USDT (45 %) today" in daily
    assert "the strategy's own result" in daily
    assert "withdrawal of 4,560 USDT seen at 2022-01-08 12:03 UTC left out" in daily
    assert "equity 2,448 USDT (45 %) below its peak of 5,440 USDT" in trips[1].message


def test_a_loss_before_a_withdrawal_keeps_its_share_not_its_amount() -> None:
    """Time-weighted: 3 % down, then half taken out, is still 3 % down (not 6 %)."""
    breakers, bs = fresh()
    breakers.on_equity(bs, D("9700"), DAY0 + HOUR)
    bs.on_cash_flow(flow("-4850", DAY0 + 2 * HOUR), D("9700"))
    assert breakers.on_equity(bs, D("4850"), DAY0 + 2 * HOUR) == []
    assert bs.day_start_equity == D("5000")
    trips = breakers.on_equity(bs, D("4800"), DAY0 + 3 * HOUR)  # 4 % of the day: trips
    assert [t.breaker for t in trips] == ["daily_loss"]


def test_a_deposit_does_not_hide_a_loss() -> None:
    breakers, bs = fresh()
    breakers.on_equity(bs, D("9700"), DAY0 + HOUR)
    bs.on_cash_flow(flow("10000", DAY0 + 2 * HOUR), D("9700"))
    # 3 % down before, 1.03 % more after: 4 % of the day's start, whatever the deposit.
    trips = breakers.on_equity(bs, D("19496"), DAY0 + 3 * HOUR)
    assert [t.breaker for t in trips] == ["daily_loss"]
    assert "deposit of 10,000 USDT" in trips[0].message


def test_the_flows_survive_a_checkpoint() -> None:
    breakers, bs = fresh()
    bs.on_cash_flow(flow("-4560", DAY0 + HOUR), D("10000"))
    restored = BreakerState.from_dict(json.loads(json.dumps(bs.to_dict())))
    assert restored.flows == bs.flows and restored.peak_ms == bs.peak_ms
    assert restored.day_start_equity == bs.day_start_equity == D("5440")
    assert Breakers(MODERATE, "USDT").on_equity(restored, D("5440"), DAY0 + 2 * HOUR) == []


def test_an_older_checkpoint_without_flows_loads() -> None:
    _, bs = fresh()
    data = bs.to_dict()
    del data["flows"], data["peak_ms"]
    assert BreakerState.from_dict(data).flows == ()


def test_flows_are_named_by_what_the_coins_held_apart_did() -> None:
    assert kind_of(D("-1")) == WITHDRAWAL and kind_of(D("1")) == DEPOSIT
    assert kind_of(D("-1"), D("0.5")) == HAND_BUY
    assert kind_of(D("1"), D("-0.5")) == HAND_SALE
    assert flow("-4560", DAY0 + 12 * HOUR + 3 * 60_000).seen(DAY0) == (
        "withdrawal of 4,560 USDT seen at 12:03 UTC"
    )


def test_a_withdrawal_of_everything_starts_the_limits_again() -> None:
    breakers, bs = fresh()
    bs.on_cash_flow(flow("-10000", DAY0 + HOUR), D("10000"))
    assert (bs.day_start_equity, bs.peak_equity) == (D(0), D(0))
    bs.on_cash_flow(flow("500", DAY0 + 2 * HOUR), D(0))
    assert (bs.day_start_equity, bs.peak_equity) == (D(500), D(500))
    assert breakers.on_equity(bs, D("500"), DAY0 + 3 * HOUR) == []


def test_the_position_loss_limit_spares_a_position_its_own_stop_still_protects() -> None:
    check = Breakers.position_loss_exceeded
    # 2 % of 5,000 is 100; the position loses 150 at its stop, and has lost 120: kept.
    assert not check(D("-120"), D("5000"), MODERATE, at_stop=D("150"))
    assert check(D("-150.01"), D("5000"), MODERATE, at_stop=D("150"))  # past its stop: a gap
    assert check(D("-120"), D("5000"), MODERATE)


# -- properties -------------------------------------------------------------------------------

RETURNS = st.lists(
    st.decimals(min_value=D("-0.08"), max_value=D("0.08"), places=4), min_size=1, max_size=30
)
FLOWS = st.lists(
    st.decimals(min_value=D("-0.9"), max_value=D("3"), places=3), min_size=30, max_size=30
)


def _trips(returns: list[Decimal], flows: list[Decimal] | None) -> list[tuple[int, str]]:
    """Run the strategy's ``returns`` (one an hour, two days long at most), with a flow of
    ``flows[i]`` × equity before step i when given; the (step, breaker) of every trip."""
    breakers, bs = fresh()
    equity = D("10000")
    out: list[tuple[int, str]] = []
    for i, r in enumerate(returns):
        at = DAY0 + i * 2 * HOUR
        if flows is not None and flows[i] != 0:
            amount = (equity * flows[i]).quantize(D("0.01"))
            bs.on_cash_flow(CashFlow(at, amount, kind_of(amount), "USDT"), equity)
            equity += amount
        equity = equity * (1 + r)
        out += [(i, t.breaker) for t in breakers.on_equity(bs, equity, at + HOUR)]
    return out


@settings(max_examples=150, deadline=None)
@given(FLOWS)
def test_any_deposits_and_withdrawals_with_no_strategy_result_never_trip(
    flows: list[Decimal],
) -> None:
    assert _trips([D(0)] * len(flows), flows) == []


@settings(max_examples=150, deadline=None)
@given(RETURNS, FLOWS)
def test_strategy_losses_trip_exactly_as_without_the_flows(
    returns: list[Decimal], flows: list[Decimal]
) -> None:
    assert _trips(returns, flows[: len(returns)]) == _trips(returns, None)


def test_each_kind_is_said_in_words_and_the_date_only_when_it_is_not_todays() -> None:
    just_after_midnight = 1_704_067_205_000  # 2024-01-01 00:00:05 UTC
    noon = just_after_midnight + 12 * 3_600_000
    buy = CashFlow(just_after_midnight, Decimal("-836.5"), HAND_BUY, "USDT")
    assert buy.text() == "purchase by hand of 836.5 USDT"
    assert buy.seen(noon) == "purchase by hand of 836.5 USDT seen at 00:00 UTC"
    assert buy.seen(noon + DAY_MS) == "purchase by hand of 836.5 USDT seen at 2024-01-01 00:00 UTC"
    assert CashFlow(noon, Decimal(5), HAND_SALE).text().startswith("sale by hand of ")


def test_a_flow_of_nothing_is_no_purchase_and_the_scale_is_none_only_without_equity() -> None:
    assert kind_of(Decimal(0), Decimal(1)) == DEPOSIT
    assert scale(Decimal("0.5"), Decimal("0.5")) == Decimal(2)  # under one unit of equity
    assert scale(Decimal(10), Decimal("-9.5")) == Decimal("0.05")  # little left, still some
    assert scale(Decimal(10), Decimal(-10)) is None  # nothing left to measure against
    assert scale(Decimal(0), Decimal(10)) is None


def test_a_kind_without_words_of_its_own_is_said_by_its_name() -> None:
    # A flow read back from an older checkpoint may carry a kind this version has no words for.
    assert CashFlow(0, Decimal(3), "airdrop", "USDT").text() == "airdrop of 3 USDT"


def test_the_loss_at_the_stop_is_asked_only_for_a_loss_past_the_limit_on_equity() -> None:
    check = Breakers.position_loss_exceeded
    asked: list[int] = []

    def at_stop() -> Decimal:
        asked.append(1)
        return D("150")

    # 2 % of 5,000 is 100: a loss of 90 is within it, the stop's loss is not needed.
    assert not check(D("-90"), D("5000"), MODERATE, at_stop=at_stop)
    assert not check(D("40"), D("5000"), MODERATE, at_stop=at_stop)
    assert asked == []
    # Past it, the stop's loss is asked and spares what the stop still protects.
    assert not check(D("-120"), D("5000"), MODERATE, at_stop=at_stop)
    assert check(D("-150.01"), D("5000"), MODERATE, at_stop=at_stop)
    assert asked == [1, 1]

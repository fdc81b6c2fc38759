"""A late fill booked against a quantity reconciliation already took out: the difference
moves cash (or capital, once cash was set to the venue's figure) and realised PnL, once.

Found by mutation testing (docs/mutation.md): the invariant tests check that the two views of
equity agree, and a correction that moved neither view, or both the wrong way, still agrees.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from rampart.domain.errors import VenueError
from rampart.domain.fills import Fill, Liquidity
from rampart.domain.orders import Side
from rampart.domain.positions import Adjustment, FillExceedsPosition, Ledger
from rampart.risk.breakers import Breakers
from rampart.risk.profiles import get_profile

D = Decimal


def _sell(qty: str, price: str, fee: str = "0", side: Side = Side.SELL) -> Fill:
    return Fill("f1", "c1", "acct", "BTC/USDT", side, D(qty), D(price), D(fee), Liquidity.TAKER, 9)


def _ledger() -> Ledger:
    ledger = Ledger.open("acct", "USDT", D("1000"))
    ledger.fills_booked = 3  # fills before this one: the correction adds to the count
    return ledger


def test_a_correction_moves_cash_and_pnl_by_the_difference() -> None:
    ledger = _ledger()
    # Taken out at 100 as an assumption; the venue sold 1 of the 2 at 104 with a 0.5 fee.
    delta = ledger.apply_correction(
        _sell("1", "104", "0.5"), Adjustment("BTC/USDT", D("2"), D("100"), 1)
    )
    assert delta == D("3.5")
    assert (ledger.cash, ledger.realized_pnl, ledger.capital) == (D("1003.5"), D("3.5"), D("1000"))
    assert ledger.fills_booked == 4
    # A worse price than assumed moves them down.
    ledger.apply_correction(_sell("1", "98"), Adjustment("BTC/USDT", D("1"), D("100"), 2))
    assert (ledger.cash, ledger.realized_pnl) == (D("1001.5"), D("1.5"))
    assert ledger.fills_booked == 5


def test_a_correction_after_cash_was_settled_reclassifies_capital_as_pnl() -> None:
    ledger = _ledger()
    settled = Adjustment("BTC/USDT", D("1"), D("100"), 1, cash_settled=True)
    assert ledger.apply_correction(_sell("1", "110", "1"), settled) == D("9")
    # The cash already holds the venue's figure: the gain was counted as a deposit.
    assert (ledger.cash, ledger.capital, ledger.realized_pnl) == (D("1000"), D("991"), D("9"))


@pytest.mark.parametrize(
    "fill",
    [_sell("1", "100", side=Side.BUY), _sell("2.5", "100")],
    ids=["a buy", "more than was taken out"],
)
def test_a_fill_the_adjustment_cannot_explain_is_refused_with_the_books_intact(fill: Fill) -> None:
    ledger = _ledger()
    with pytest.raises(FillExceedsPosition) as err:
        ledger.apply_correction(fill, Adjustment("BTC/USDT", D("2"), D("100"), 1))
    assert err.value.fill is fill and err.value.held == 0
    assert (ledger.cash, ledger.realized_pnl, ledger.fills_booked) == (D("1000"), 0, 3)


def test_the_whole_adjusted_quantity_may_be_explained() -> None:
    ledger = _ledger()
    assert (
        ledger.apply_correction(_sell("2", "100"), Adjustment("BTC/USDT", D("2"), D("100"), 1)) == 0
    )


def test_a_negative_fee_is_refused_before_anything_moves() -> None:
    ledger = _ledger()
    with pytest.raises(ValueError) as err:
        ledger.apply_correction(
            _sell("1", "100", "-0.1"), Adjustment("BTC/USDT", D("1"), D("100"), 1)
        )
    assert str(err.value) == "fees are never negative"
    assert (ledger.cash, ledger.fees_paid, ledger.fills_booked) == (D("1000"), 0, 3)


def test_a_position_loss_on_an_account_worth_nothing() -> None:
    profile = get_profile("moderate")
    # Flat is never a loss, even when the account is worth nothing (the kill switch must not
    # fire for a position that lost nothing).
    assert not Breakers.position_loss_exceeded(D("0"), D("0"), profile)
    assert Breakers.position_loss_exceeded(D("-0.01"), D("0"), profile)
    # At the limit (2 % of 1,000 for moderate) is not past it.
    assert not Breakers.position_loss_exceeded(D("-20"), D("1000"), profile)
    assert Breakers.position_loss_exceeded(D("-20.01"), D("1000"), profile)


def test_a_venue_error_keeps_its_sentence_and_a_default_code() -> None:
    err = VenueError("The venue refused the order: insufficient balance.")
    assert (str(err), err.message, err.code) == (
        "The venue refused the order: insufficient balance.",
        "The venue refused the order: insufficient balance.",
        "venue_error",
    )
    assert VenueError("x", code="rate_limited").code == "rate_limited"

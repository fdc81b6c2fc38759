"""The sizer at its edges: a venue without a lot size, and an intent the bracket check would
refuse (stop at the entry) handed to the sizer directly."""

from __future__ import annotations

from decimal import Decimal

from rampart.domain.instruments import Instrument
from rampart.risk.checks import RiskEngine
from rampart.risk.sizing import size_entry

from .helpers import buy, make_ctx

D = Decimal
NO_LOT = Instrument("BTC/USDT", "BTC", "USDT", D("0.01"), D("0"), D("0"), D("5"))


def test_without_a_lot_size_the_tightest_cap_is_bought_unrounded() -> None:
    ctx = make_ctx(instrument=NO_LOT)
    # risk 100 / 2 = 50, position 2,000 / 100 = 20, cash 10,000 / 100.1 = 99.9…: position binds
    assert size_entry(buy(), ctx) == D("20")
    assert size_entry(buy(size_hint=D("0.37")), ctx) == D("7.4")
    cash_bound = make_ctx(instrument=NO_LOT, free_cash=D("1001"))
    assert size_entry(buy(), cash_bound) == D("10")
    verdict = RiskEngine().check(buy(size_hint=D("0.37")), ctx)
    assert (verdict.approved, verdict.qty, verdict.risk_amount) == (True, D("7.4"), D("14.8"))


def test_without_a_lot_size_no_room_sizes_to_nothing() -> None:
    full = make_ctx(instrument=NO_LOT, position_qty=D("25"))
    assert size_entry(buy(), full) == 0


def test_a_stop_at_the_entry_sizes_to_nothing_rather_than_dividing_by_zero() -> None:
    assert size_entry(buy(stop="100"), make_ctx()) == 0
    assert size_entry(buy(stop="100"), make_ctx(instrument=NO_LOT)) == 0


def test_a_size_hint_above_one_buys_the_full_size_never_more() -> None:
    """The sizer clamps the hint to 1 itself. The rules refuse such an
    intent before sizing, so through the risk engine an unclamped hint changed nothing seen
    (the backstop refused the oversize order too); a sizer handed one directly, as
    :class:`RiskEngine`'s ``sizer`` is, must not size past the tightest cap."""
    for ctx, full in (
        (make_ctx(), size_entry(buy(), make_ctx())),
        (make_ctx(instrument=NO_LOT), D(20)),
    ):
        assert size_entry(buy(), ctx) == full > 0
        for hint in ("1.0001", "1.5", "7"):
            assert size_entry(buy(size_hint=D(hint)), ctx) == full
    assert size_entry(buy(size_hint=D("-2")), make_ctx()) == 0  # and below 0: nothing

"""A symbol's exposure: its position plus what its working entries may still buy.

The engine refuses a second entry while one works (one position per symbol); the largest
position leaves room for what the symbol holds or is buying, in the sizer and in the guard
after it, so neither the remainder nor a position counted twice can slip past the limit.
"""

from __future__ import annotations

from decimal import Decimal

from rampart.risk.checks import RiskEngine
from rampart.risk.codes import RejectCode
from rampart.risk.exposure import check_exposure, check_position_value
from rampart.risk.sizing import committed_value, size_entry, size_limits

from .helpers import buy, make_ctx

D = Decimal
ENGINE = RiskEngine()


def test_a_working_entry_refuses_a_second_one_before_any_other_count() -> None:
    # Nothing filled yet, and the account far below its open-position limit.
    ctx = make_ctx(working_qty=D("0.00001"), working_value=D("0.001"), open_positions=1)
    verdict = ENGINE.check(buy(), ctx)
    assert verdict.code is RejectCode.ENTRY_WORKING and verdict.qty == 0
    assert "An entry for 0.00001 BTC on BTC/USDT (about 0.001 USDT) is still working" in (
        verdict.message
    )
    # The same, crowded: the symbol's own entry is the thing to know first.
    crowded = make_ctx(working_qty=D("3"), working_value=D("300"), open_positions=9)
    assert ENGINE.check(buy(), crowded).code is RejectCode.ENTRY_WORKING


def test_a_market_entry_with_no_price_yet_is_named_by_its_quantity_alone() -> None:
    rejection = check_exposure(buy(), make_ctx(working_qty=D("2"), working_value=D("0")))
    assert rejection == (
        RejectCode.ENTRY_WORKING,
        "An entry for 2 BTC on BTC/USDT is still working; this account keeps one position "
        "per symbol, so a new entry waits until that one fills, is canceled or expires.",
    )


def test_a_partly_filled_entry_names_the_position_and_what_is_still_being_bought() -> None:
    ctx = make_ctx(position_qty=D("5"), working_qty=D("15"), working_value=D("1500"))
    assert check_exposure(buy(), ctx) == (
        RejectCode.POSITION_EXISTS,
        "This account already holds 5 BTC on BTC/USDT and an entry is still buying 15 BTC "
        "more (about 1,500 USDT); it keeps one position per symbol.",
    )
    alone = check_exposure(buy(), make_ctx(position_qty=D("5")))
    assert alone == (
        RejectCode.POSITION_EXISTS,
        "This account already holds 5 BTC on BTC/USDT; it keeps one position per symbol.",
    )


def test_nothing_on_the_symbol_passes() -> None:
    assert check_exposure(buy(), make_ctx(open_positions=3)) is None
    assert ENGINE.check(buy(), make_ctx(open_positions=3)).approved


# -- the largest position counts what the symbol holds and is buying ---------------------------


def test_committed_value_is_the_position_at_the_entry_plus_the_working_value() -> None:
    ctx = make_ctx(position_qty=D("5"), working_qty=D("15"), working_value=D("1350"))
    assert committed_value(buy(entry="100"), ctx) == D("1850")  # 500 + 1,350 (a limit at 90)
    assert committed_value(buy(), make_ctx()) == 0


def test_the_sizer_leaves_room_for_what_the_symbol_holds_or_is_buying() -> None:
    # moderate, 10,000 USDT at 100: 2,000 USDT of room, so 20 BTC with nothing on the symbol.
    assert size_entry(buy(), make_ctx()) == D("20")
    working = make_ctx(working_qty=D("5"), working_value=D("500"))
    assert size_limits(buy(), working).by_position == D("15")
    assert size_entry(buy(), working) == D("15")
    held = make_ctx(position_qty=D("5"))
    assert size_entry(buy(), held) == D("15")
    both = make_ctx(position_qty=D("5"), working_qty=D("5"), working_value=D("500"))
    assert size_entry(buy(), both) == D("10")
    full = make_ctx(position_qty=D("12"), working_qty=D("9"), working_value=D("900"))
    assert size_limits(buy(), full).by_position == 0 and size_entry(buy(), full) == 0


def test_the_guard_counts_the_working_value_once_at_the_limits_edge() -> None:
    ctx = make_ctx(working_qty=D("5"), working_value=D("500"))
    # 15 BTC at 100 with 500 being bought is exactly 2,000 USDT, the moderate limit.
    assert check_position_value(buy(), ctx, D("15")) is None
    edge = check_position_value(buy(), ctx, D("15.00001"))
    assert edge is not None and edge[0] is RejectCode.MAX_POSITION
    assert check_position_value(buy(), ctx, D("16")) == (
        RejectCode.MAX_POSITION,
        "This position would be worth 2,100 USDT (21 % of the account) with the 500 USDT "
        "already held or being bought on BTC/USDT; the moderate profile allows at most "
        "2,000 USDT (20 %).",
    )
    # Without the working value the same 20 BTC would pass; with it they are refused.
    assert check_position_value(buy(), make_ctx(), D("20")) is None
    assert check_position_value(buy(), ctx, D("20")) is not None


def test_the_guard_counts_the_held_position_at_the_entry_price() -> None:
    ctx = make_ctx(position_qty=D("5"))
    assert check_position_value(buy(), ctx, D("15")) is None
    rejection = check_position_value(buy(), ctx, D("15.00001"))
    assert rejection is not None and rejection[0] is RejectCode.MAX_POSITION
    assert "with the 500 USDT already held or being bought" in rejection[1]

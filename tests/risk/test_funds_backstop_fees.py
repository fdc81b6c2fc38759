"""The funds backstop counts the fee: an order whose value fits the free cash but whose value
plus the taker fee does not is refused, whatever the sizer said (mutant R2: the
backstop ignoring fees went unnoticed)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from rampart.domain.intents import Intent
from rampart.risk.checks import RejectCode, RiskContext, RiskEngine

from .helpers import buy, make_ctx

D = Decimal


def all_the_cash(intent: Intent, ctx: RiskContext) -> Decimal:
    """A sizer that forgets the fee: the whole free cash at the entry price."""
    return ctx.free_cash / intent.entry_price


@pytest.mark.parametrize("fee", ["0.001", "0.00075", "0.0001"])
def test_an_order_worth_all_the_free_cash_is_refused_for_its_fee(fee: str) -> None:
    ctx = make_ctx(free_cash=D("1000"), taker_fee=D(fee))
    verdict = RiskEngine(sizer=all_the_cash).check(buy(), ctx)
    assert not verdict.approved and verdict.code is RejectCode.INSUFFICIENT_FUNDS
    assert "with fees, but only 1,000 USDT is free" in verdict.message


def test_an_order_whose_cost_with_the_fee_is_exactly_the_free_cash_passes() -> None:
    # 10 BTC at 100 with a 0.1 % fee cost 1,001: exactly what is free.
    ctx = make_ctx(free_cash=D("1001"), taker_fee=D("0.001"))

    def ten(intent: Intent, ctx: RiskContext) -> Decimal:
        return D(10)

    verdict = RiskEngine(sizer=ten).check(buy(), ctx)
    assert verdict.approved and verdict.qty == D(10)
    one_lot_more = RiskEngine(sizer=lambda i, c: D("10.00001")).check(buy(), ctx)
    assert one_lot_more.code is RejectCode.INSUFFICIENT_FUNDS

"""A swap's fill books the exact quote it moved, even when qty × price cannot say it."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from rampart.domain.fills import Fill, Liquidity
from rampart.domain.orders import OrderRole, Side
from rampart.domain.positions import Ledger


def _fill(side: Side, qty: Decimal, quote: Decimal, fee: Decimal, cost: bool) -> Fill:
    net = quote - fee if side is Side.BUY else quote + fee
    return Fill(
        fill_id=f"f-{side.value}",
        client_id=f"c-{side.value}",
        account_id="a",
        symbol="SOL/USDC",
        side=side,
        qty=qty,
        price=net / qty,
        fee=fee,
        liquidity=Liquidity.TAKER,
        ts=1,
        cost=net if cost else None,
    )


units = st.integers(min_value=1, max_value=10**13)


@given(base=units, spent=units, got=units)
def test_cash_moves_by_exactly_the_tokens_the_swaps_moved(base: int, spent: int, got: int) -> None:
    qty = Decimal(base).scaleb(-9)
    paid, received = Decimal(spent).scaleb(-6), Decimal(got).scaleb(-6)
    # The whole capital goes into the buy, so a last-digit error is not rounded away.
    ledger = Ledger.open("a", "USDC", paid)
    ledger.apply_fill(_fill(Side.BUY, qty, paid, Decimal(0), True), OrderRole.ENTRY, "t")
    ledger.apply_fill(_fill(Side.SELL, qty, received, Decimal(0), True), OrderRole.EXIT, "t")
    assert ledger.cash == received


def test_without_the_cost_the_product_misses_the_chain_in_the_last_digit() -> None:
    qty, paid = Decimal("0.145944372"), Decimal("180.870921")
    inexact = _fill(Side.BUY, qty, paid, Decimal(0), False)
    assert inexact.notional != paid  # why the cost is carried
    assert _fill(Side.BUY, qty, paid, Decimal(0), True).notional == paid

"""The stand-in's constant-product pools: rounding favours the pool, k never decreases,
ExactOut asks for just enough input, set_price moves the price keeping k."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from rampart_testkit.solana_sim.pools import Pool
from rampart_testkit.solana_sim.quotes import price_swap

reserves = st.integers(min_value=10**6, max_value=10**18)


@given(
    reserves,
    reserves,
    st.integers(min_value=1, max_value=10**15),
    st.booleans(),
    st.integers(min_value=0, max_value=300),
)
def test_swaps_never_shrink_k_and_exact_out_is_the_least_input(
    base: int, quote: int, amount: int, base_in: bool, fee_bps: int
) -> None:
    pool = Pool(base, quote, fee_bps)
    r_in, r_out = pool.reserves(base_in)
    out = pool.out_for_in(amount, base_in)
    assert 0 <= out < r_out
    if out > 0:
        need = pool.in_for_out(out, base_in)
        assert need <= amount and pool.out_for_in(need, base_in) >= out
        assert need == 1 or pool.out_for_in(need - 1, base_in) < out
    k = pool.k
    pool.apply(amount, out, base_in)
    assert pool.k >= k


@given(
    st.integers(min_value=10**4, max_value=10**12),
    st.sampled_from(["ExactIn", "ExactOut"]),
    st.booleans(),
)
def test_platform_fee_is_on_the_quote_leg(amount: int, mode: str, base_in: bool) -> None:
    pool = Pool(10**15, 150 * 10**12, 25)  # 1e6 SOL (9 dp) against 150e6 USDC (6 dp)
    plain = price_swap(pool, base_in, mode, amount, 0)
    bags = price_swap(pool, base_in, mode, amount, 100)
    assert bags.platform_fee >= 0 and plain.platform_fee == 0
    if mode == "ExactIn":
        assert bags.in_amount == plain.in_amount and bags.out_amount <= plain.out_amount
    else:
        assert bags.out_amount == plain.out_amount and bags.in_amount >= plain.in_amount
    if base_in:  # a sell: the fee comes off the quote the user receives
        assert bags.out_amount + bags.platform_fee == bags.pool_out
    else:  # a buy: the fee comes off the quote the user pays in
        assert bags.in_amount - bags.platform_fee == bags.pool_in


def test_set_price_keeps_k_and_lands_on_the_price() -> None:
    pool = Pool(10**15, 150 * 10**12, 25)
    k = pool.k
    pool.set_price(Decimal("0.2"))  # 200 USDC a SOL in base units
    assert abs(pool.spot() - Decimal("0.2")) < Decimal("1e-9")
    assert abs(pool.k - k) / k < 1e-9
